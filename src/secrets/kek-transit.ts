import { Agent, fetch, type Response } from "undici";
import { readRegularFile } from "../common/regular-file.js";
import { ConfigError } from "../config/config-error.js";
import { TLS_FILE_MAX_BYTES } from "../config/config.js";
import { ANSWER_TOO_LARGE, AnswerTooLargeError, readAtMost } from "./answer-size-limit.js";
import { KekError, type KeyEncryptionKey, type WrappedKey } from "./kek.js";
import type { VaultClient } from "./vault-client.js";
import { VaultError } from "./vault-error.js";

export interface TransitKekOptions {
  /** VAULT_ADDR, without "/v1". */
  address: string;
  namespace?: string;
  /** The Transit engine's mount ("transit") and key ("switchboard"). */
  mount: string;
  key: string;
  timeoutMs: number;
  /** VAULT_CACERT: a Vault with a private CA is trusted for Transit as for every other Vault call. */
  caCertFile?: string;
}

/**
 * Vault's (or OpenBao's) Transit engine as the key-encryption key: data keys
 * are wrapped with `transit/encrypt`, unwrapped with `transit/decrypt` and
 * rewrapped with `transit/rewrap`, so the KEK never leaves Vault. After
 * `bao write -f transit/keys/switchboard/rotate`, `switchboard secrets
 * rewrap` moves every data key to the new version inside Vault. Calls go
 * through the gateway's Vault session (token or AppRole, renewed), and their
 * errors are scrubbed like every other Vault error.
 *
 * Transit's own `context` needs a derived key; the binding to the secret's
 * name and version is the secret's associated data instead.
 */
export class TransitKek implements KeyEncryptionKey {
  readonly kind = "vault-transit";
  private readonly name: string;
  /** Trusts VAULT_CACERT when set; the default agent (the system's CAs) otherwise. */
  private readonly dispatcher: Agent | undefined;

  constructor(
    private readonly vault: VaultClient,
    private readonly options: TransitKekOptions,
  ) {
    this.name = `${options.mount}/${options.key}`;
    this.dispatcher = options.caCertFile ? new Agent({ connect: { ca: readCaBundle(options.caCertFile) } }) : undefined;
  }

  async wrap(dataKey: Buffer): Promise<WrappedKey> {
    const answer = await this.post("encrypt", { plaintext: dataKey.toString("base64") });
    return this.wrapped(answer.ciphertext);
  }

  async unwrap(wrapped: WrappedKey): Promise<Buffer> {
    const answer = await this.post("decrypt", { ciphertext: wrapped.blob });
    if (typeof answer.plaintext !== "string") throw new KekError(`Vault Transit decrypt with ${this.name} gave no plaintext`);
    return Buffer.from(answer.plaintext, "base64");
  }

  async rewrap(wrapped: WrappedKey): Promise<WrappedKey> {
    const answer = await this.post("rewrap", { ciphertext: wrapped.blob });
    return this.wrapped(answer.ciphertext);
  }

  /** The key's latest version, learnt by encrypting one zero byte (the gateway's policy needs no read on transit/keys). */
  async current(): Promise<string> {
    return (await this.wrap(Buffer.alloc(1))).kek;
  }

  private wrapped(ciphertext: unknown): WrappedKey {
    const version = typeof ciphertext === "string" ? /^vault:v(\d+):/.exec(ciphertext)?.[1] : undefined;
    if (!version) throw new KekError(`Vault Transit ${this.name} answered without a ciphertext`);
    return { kek: `vault-transit:${this.name}:v${version}`, blob: ciphertext as string };
  }

  private async post(operation: "encrypt" | "decrypt" | "rewrap", body: Record<string, string>): Promise<Record<string, unknown>> {
    const url = `${this.options.address}/v1/${this.options.mount}/${operation}/${this.options.key}`;
    try {
      return await this.vault.withSession("transit", `transit ${operation} with ${this.name}`, async (token) => {
        let res: Response;
        // One deadline for the whole request, to the answer's last byte (answerOf reads under it too).
        const signal = AbortSignal.timeout(this.options.timeoutMs);
        try {
          res = await fetch(url, {
            method: "POST",
            headers: { "x-vault-token": token, "content-type": "application/json", ...(this.options.namespace ? { "x-vault-namespace": this.options.namespace } : {}) },
            body: JSON.stringify(body),
            signal,
            dispatcher: this.dispatcher,
            // Never followed: fetch would send X-Vault-Token (it strips Authorization only) and, on a 307, the plaintext data key
            // to wherever Location points. The 3xx answer fails as an outage (vault-error.ts).
            redirect: "manual",
          });
        } catch (err) {
          // Shaped as scrubVaultError reads network failures: a code only.
          const cause = (err as { cause?: { code?: string }; name?: string }).cause;
          throw { code: (err as Error).name === "TimeoutError" ? "ETIMEDOUT" : (cause?.code ?? "ERR_NETWORK") };
        }
        const answer = (await answerOf(res, signal)) as { data?: Record<string, unknown>; errors?: unknown };
        if (!res.ok) throw { response: { status: res.status, data: { errors: answer.errors } } };
        return answer.data ?? {};
      });
    } catch (err) {
      if (err instanceof VaultError) throw new KekError(err.message, err.unreachable);
      throw err;
    }
  }
}

/**
 * The answer's JSON, read up to MAX_ANSWER_BYTES ({} when it is not JSON); a longer one, or one still
 * arriving when `deadline` ends, is shaped as scrubVaultError reads it.
 */
async function answerOf(res: Response, deadline: AbortSignal): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = res.body ? await readAtMost(res.body) : new Uint8Array();
  } catch (err) {
    if (err instanceof AnswerTooLargeError) throw { code: ANSWER_TOO_LARGE };
    if (deadline.aborted) throw { code: "ETIMEDOUT" };
    return {};
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/**
 * VAULT_CACERT's bundle, read as every file an operator names is (a TLS
 * certificate's bound, a regular file only): a named pipe would hang the
 * first db: secret call for good, a huge file would be held whole.
 */
function readCaBundle(path: string): Buffer {
  try {
    return readRegularFile(path, TLS_FILE_MAX_BYTES).bytes;
  } catch (err) {
    throw new ConfigError("environment", "VAULT_CACERT", `"${path}" ${(err as Error).message}`);
  }
}
