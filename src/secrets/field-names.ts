import { maskLogText } from "../providers/redact.js";

/**
 * The fields a JSON secret (a Vault KV secret, an AWS secret string) has, for
 * the message saying the one referred to is missing: sorted, each key-shaped
 * name masked as log lines mask keys ("sk-pro…"): a key pasted where a
 * field's name goes would otherwise be quoted in the error, wherever it is
 * shown or kept. Never the values.
 */
export function fieldNamesOf(secret: object): string {
  return Object.keys(secret).sort().map((name) => maskLogText(name)).join(", ") || "none";
}
