import { createHash } from "node:crypto";
import { rememberSecret } from "../providers/redact.js";

/**
 * A vendor credential as adapters receive it. The secret stays inside this
 * object: logs, errors, metrics and admin answers use `id` and `fingerprint`.
 */
export interface Credential {
  /** Stable, non-secret name, e.g. "openai/env-OPENAI_API_KEY". */
  readonly id: string;
  /** Short hash of the secret, to tell keys apart without revealing them. */
  readonly fingerprint: string;
  /** The secret itself. Never log, format or serialise it. */
  readonly secret: string;
  /** A second secret for vendors that need a pair (Baidu's API key + secret key). */
  readonly secondary?: string;
}

/** True for the credential of a keyless provider (a local vLLM or Ollama server): calls go out with no key at all. */
export function hasNoSecret(credential: Credential): boolean {
  return credential.secret === "" && !credential.secondary;
}

/** First 8 hex digits of SHA-256: enough to tell keys apart, useless to an attacker. */
export function fingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 8);
}

export function createCredential(id: string, secret: string, secondary?: string): Credential {
  // Redacted from every vendor answer, whichever key of the pool the attempt used.
  rememberSecret(secret);
  if (secondary !== undefined) rememberSecret(secondary);
  const credential: Credential = { id, fingerprint: fingerprint(secret + (secondary ?? "")), secret, secondary };
  // Keep the secret out of JSON.stringify, util.inspect and template strings.
  Object.defineProperty(credential, "secret", { enumerable: false, value: secret });
  if (secondary !== undefined) Object.defineProperty(credential, "secondary", { enumerable: false, value: secondary });
  Object.defineProperty(credential, "toString", { enumerable: false, value: () => `credential(${id}#${credential.fingerprint})` });
  return credential;
}
