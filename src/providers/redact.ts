import type { Credential } from "../secrets/credential.js";

// Things that look like keys or tokens: "sk-…", "Bearer …", vendor key prefixes, masked echoes ("sk-ab***yz").
const KEY_LIKE = /\b(?:sk|pk|rk|ak|bce-v3|ALTAK|AIza|key|token)[-_/]?[A-Za-z0-9*._/+=-]{6,}/g;
// Groq's "gsk_…" (no word boundary before its "sk") and xAI's "xai-…": a long unbroken run after the exact
// prefix, so model names such as "xai/grok-4" or "xai-grok-beta" stay readable.
const PREFIXED_KEY = /\b(?:gsk_|xai-)[A-Za-z0-9*]{16,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * Removes anything secret from text that came back from a vendor before it is
 * shown to a caller or logged: vendors echo keys in their error messages
 * (OpenAI: "Incorrect API key provided: sk-ab***yz").
 */
export function redactSecrets(text: string, credential?: Credential, alsoSecret: readonly string[] = []): string {
  let out = text;
  for (const secret of [credential?.secret, credential?.secondary, ...alsoSecret]) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out.replace(BEARER, "$1 [redacted]").replace(PREFIXED_KEY, "[redacted]").replace(KEY_LIKE, "[redacted]");
}
