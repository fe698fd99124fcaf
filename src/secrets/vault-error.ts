import { ANSWER_TOO_LARGE, ANSWER_TOO_LARGE_WORDS } from "./answer-size-limit.js";
import { isVersionNumber } from "./version-identity.js";

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
  /** Vault answered a KV v2 read that this version is deleted or destroyed (its metadata says so). */
  readonly deleted: DeletedKvVersion | undefined;
  /** Vault itself answered 404 with no error words (`{"errors":[]}`): nothing is at the path, or not that version. */
  readonly nothingThere: boolean;

  constructor(operation: string, message: string, status?: number, code?: string, answer: VaultAbsence = {}) {
    super(message);
    this.name = "VaultError";
    this.operation = operation;
    this.status = status;
    this.code = code;
    this.deleted = answer.deleted;
    this.nothingThere = answer.nothingThere === true;
  }

  /** Vault could not be reached (or did not answer in time, or redirected: never followed): worth retrying, and keeping the last known secrets. Not an answer too large to read. */
  get unreachable(): boolean {
    return (this.status === undefined && this.code !== ANSWER_TOO_LARGE) || (this.status ?? 0) >= 500 || isRedirect(this.status);
  }

  /** The token is no longer valid (expired or revoked): log in again. */
  get forbidden(): boolean {
    return this.status === 403;
  }

  /**
   * Vault itself answered that there is nothing to read: the version was
   * deleted or destroyed, or nothing is at the path. Only Vault's own JSON
   * answer counts: a 404 page from a proxy, an ingress or a wrong VAULT_ADDR
   * (or Vault's "no handler for route": a mount gone, perhaps by mistake)
   * is an outage, like a refusal (403: a token or policy matter).
   */
  get gone(): boolean {
    return this.deleted !== undefined || this.nothingThere;
  }
}

/** What Vault answered about a KV v2 secret it has not (vault-error.ts: only its own JSON answer). */
export interface VaultAbsence {
  deleted?: DeletedKvVersion;
  nothingThere?: boolean;
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
  const raw = err as { response?: { status?: unknown; data?: { errors?: unknown }; headers?: unknown }; code?: unknown; message?: unknown } | undefined;
  const status = typeof raw?.response?.status === "number" ? raw.response.status : undefined;
  const code = tooLarge(raw) ? ANSWER_TOO_LARGE : typeof raw?.code === "string" && /^[A-Z_]+$/.test(raw.code) ? raw.code : undefined;
  let detail: string;
  const fromVault = status === 404 && isJson(raw?.response?.headers);
  const deleted = fromVault ? deletedKvVersion(raw?.response?.data) : undefined;
  const nothingThere = fromVault && deleted === undefined && isEmptyErrorList(raw?.response?.data);
  if (code === ANSWER_TOO_LARGE) {
    detail = ANSWER_TOO_LARGE_WORDS;
  } else if (deleted) {
    detail = `HTTP 404 (version ${deleted.version} ${deleted.destroyed ? "is destroyed" : "is deleted"})`;
  } else if (nothingThere) {
    detail = "HTTP 404 (nothing there)";
  } else if (status === 404 && !fromVault) {
    detail = "HTTP 404 (not Vault's answer: is VAULT_ADDR right, or is a proxy in front of Vault answering?)";
  } else if (isRedirect(status)) {
    // Never its Location (it may hold credentials) nor its body: a redirect's target is not VAULT_ADDR.
    detail = `HTTP ${status} (a redirect, not followed: the gateway sends its Vault credentials to VAULT_ADDR only)`;
  } else if (status !== undefined) {
    const errors = Array.isArray(raw?.response?.data?.errors) ? raw.response.data.errors.filter((e): e is string => typeof e === "string") : [];
    detail = `HTTP ${status}${errors.length > 0 ? ` (${redactThenCut(errors.join("; "), secrets, 300)})` : ""}`;
  } else if (code) {
    detail = `Vault unreachable: ${NETWORK_WORDS[code] ?? code}`;
  } else {
    // Not an HTTP error (a bug or an assertion in the library): keep its first line only.
    detail = typeof raw?.message === "string" ? redactThenCut(raw.message.split("\n", 1)[0]!, secrets, 200) : "unknown error";
  }
  return new VaultError(operation, redact(`Vault ${operation} failed: ${detail}`, secrets), status, code, { deleted, nothingThere });
}

/** A 3xx answer: the Vault clients follow none (vault-client.ts, kek-transit.ts). */
function isRedirect(status: number | undefined): boolean {
  return status !== undefined && status >= 300 && status < 400;
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
  return deletedVersionOf((body as { data?: { metadata?: unknown } } | undefined)?.data?.metadata);
}

/** The version KV v2 metadata marks as deleted (a `deletion_time`) or destroyed; undefined when it marks neither. */
export function deletedVersionOf(metadata: unknown): DeletedKvVersion | undefined {
  const fields = metadata as { version?: unknown; deletion_time?: unknown; destroyed?: unknown } | undefined;
  const version = fields?.version;
  if (!isVersionNumber(version)) return undefined;
  const destroyed = fields?.destroyed === true;
  if (!destroyed && !(typeof fields?.deletion_time === "string" && fields.deletion_time !== "")) return undefined;
  return { version, destroyed };
}

/** Vault's own answer for a path (or a version) it has nothing at: `{"errors":[]}`, and nothing else. */
function isEmptyErrorList(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const errors = (body as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length === 0 && Object.keys(body).length === 1;
}

/** Whether an answer says it is JSON, as all of Vault's are (axios keeps the headers, names in lower case). */
function isJson(headers: unknown): boolean {
  const all = headers as { get?: (name: string) => unknown; [name: string]: unknown } | undefined;
  const type = typeof all?.get === "function" ? all.get("content-type") : all?.["content-type"];
  return typeof type === "string" && /^application\/json\b/i.test(type.trim());
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
