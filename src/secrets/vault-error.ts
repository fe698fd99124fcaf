import { ANSWER_TOO_LARGE, ANSWER_TOO_LARGE_WORDS } from "./answer-size-limit.js";

/** A KV v2 version Vault answered is deleted (`vault kv delete`) or destroyed (`vault kv destroy`). */
export interface DeletedKvVersion {
  version: number;
  destroyed: boolean;
}

/**
 * A failed Vault request, rebuilt from what is safe to show. hashi-vault-js
 * throws axios errors that carry the request: the token in
 * `config.headers['X-Vault-Token']`, the AppRole secret id in `config.data`,
 * the socket in `request`. None of that may reach a log line or a wrapped
 * error, so nothing of the original error is kept (not even as `cause`).
 */
export class VaultError extends Error {
  /** The operation that failed: "login", "renew", "lookup", "read secret/…". */
  readonly operation: string;
  /** Vault's HTTP status, when it answered. */
  readonly status: number | undefined;
  /** The network error code (ECONNREFUSED, ECONNABORTED, …), when it did not; ANSWER_TOO_LARGE for an answer not read whole. */
  readonly code: string | undefined;
  /** A KV v2 read answered 404 for a version deleted or destroyed: which (none: nothing at the path). */
  readonly deleted: DeletedKvVersion | undefined;

  constructor(operation: string, message: string, status?: number, code?: string, deleted?: DeletedKvVersion) {
    super(message);
    this.name = "VaultError";
    this.operation = operation;
    this.status = status;
    this.code = code;
    this.deleted = deleted;
  }

  /** Vault could not be reached (or did not answer in time): worth retrying, and keeping the last known secrets. Not an answer too large to read. */
  get unreachable(): boolean {
    return (this.status === undefined && this.code !== ANSWER_TOO_LARGE) || (this.status ?? 0) >= 500;
  }

  /** The token is no longer valid (expired or revoked): log in again. */
  get forbidden(): boolean {
    return this.status === 403;
  }

  /**
   * Vault answered that there is nothing to read: the version was deleted or
   * destroyed, or nothing is at the path (its metadata, or its mount, is gone).
   * A definite answer, unlike an outage or a refusal (403: a token or policy
   * matter, which says nothing about the secret).
   */
  get gone(): boolean {
    return this.status === 404;
  }
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ECONNABORTED: "timed out",
  ETIMEDOUT: "timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ERR_NETWORK: "network error",
};

/**
 * Turns anything hashi-vault-js (or axios) threw into a VaultError whose
 * message holds only the operation, Vault's status and its error strings,
 * with every known secret (`secrets`: token, secret id, role id) blanked out
 * even there.
 */
export function scrubVaultError(err: unknown, operation: string, secrets: readonly (string | undefined)[]): VaultError {
  const raw = err as { response?: { status?: unknown; data?: { errors?: unknown } }; code?: unknown; message?: unknown } | undefined;
  const status = typeof raw?.response?.status === "number" ? raw.response.status : undefined;
  const code = tooLarge(raw) ? ANSWER_TOO_LARGE : typeof raw?.code === "string" && /^[A-Z_]+$/.test(raw.code) ? raw.code : undefined;
  let detail: string;
  const deleted = status === 404 ? deletedKvVersion(raw?.response?.data) : undefined;
  if (code === ANSWER_TOO_LARGE) {
    detail = ANSWER_TOO_LARGE_WORDS;
  } else if (deleted) {
    detail = `HTTP 404 (version ${deleted.version} ${deleted.destroyed ? "is destroyed" : "is deleted"})`;
  } else if (status !== undefined) {
    const errors = Array.isArray(raw?.response?.data?.errors) ? raw.response.data.errors.filter((e): e is string => typeof e === "string") : [];
    detail = `HTTP ${status}${errors.length > 0 ? ` (${redactThenCut(errors.join("; "), secrets, 300)})` : ""}`;
  } else if (code) {
    detail = `Vault unreachable: ${NETWORK_WORDS[code] ?? code}`;
  } else {
    // Not an HTTP error (a bug or an assertion in the library): keep its first line only.
    detail = typeof raw?.message === "string" ? redactThenCut(raw.message.split("\n", 1)[0]!, secrets, 200) : "unknown error";
  }
  return new VaultError(operation, redact(`Vault ${operation} failed: ${detail}`, secrets), status, code, deleted);
}

/** An answer cut at MAX_ANSWER_BYTES: axios's (its `maxContentLength`, which has no code of its own) or Transit's read. */
function tooLarge(raw: { code?: unknown; message?: unknown } | undefined): boolean {
  if (raw?.code === ANSWER_TOO_LARGE) return true;
  return raw?.code === "ERR_BAD_RESPONSE" && typeof raw.message === "string" && raw.message.startsWith("maxContentLength size of ");
}

/**
 * The version a KV v2 404 is about, from its body: Vault answers a read of a
 * deleted or destroyed version with `data: null` and the version's metadata
 * (nothing else of it is kept: a number and a flag).
 */
function deletedKvVersion(body: unknown): DeletedKvVersion | undefined {
  const metadata = (body as { data?: { metadata?: { version?: unknown; deletion_time?: unknown; destroyed?: unknown } } } | undefined)?.data?.metadata;
  const version = metadata?.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version)) return undefined;
  const destroyed = metadata?.destroyed === true;
  if (!destroyed && !(typeof metadata?.deletion_time === "string" && metadata.deletion_time !== "")) return undefined;
  return { version, destroyed };
}

/**
 * Blanks out the secrets in `text`, then keeps its first `maxChars`: cut first,
 * a secret across the cut would survive as a prefix the exact match misses.
 */
export function redactThenCut(text: string, secrets: readonly (string | undefined)[], maxChars: number): string {
  return redact(text, secrets).slice(0, maxChars);
}

/** Blanks out every occurrence of each secret in `text`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
