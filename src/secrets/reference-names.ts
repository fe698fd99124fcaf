import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { fingerprint } from "./credential.js";
import { SECRET_NAME } from "./encrypted-file-store.js";

/** What an environment variable may be called (POSIX: letters, digits and '_', not starting with a digit). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Vendors' key prefixes: OpenAI's and Anthropic's "sk-", Groq's "gsk_", xAI's, Google's "AIza", Baidu's. */
const KEY_PREFIX = /^(?:sk-|sk_|gsk_|xai-|AIza|bce-v3\/|ALTAK)/;
/** A long unbroken run of letters and digits, as random keys have and names do not. */
const LONG_RUN = /[A-Za-z0-9]{16,}/g;

/**
 * Whether a reference's name looks like a key rather than the name of one:
 * a vendor's key prefix, or a run of 16 letters and digits mixing upper case,
 * lower case and digits, or of 24 mixing letters and digits (hex keys).
 */
export function looksLikeKey(name: string): boolean {
  if (KEY_PREFIX.test(name)) return true;
  return (name.match(LONG_RUN) ?? []).some((run) => {
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((letters) => letters.test(run)).length;
    return classes === 3 || (run.length >= 24 && /[0-9]/.test(run) && /[A-Za-z]/.test(run));
  });
}

/**
 * Refuses an `env:` or `file:` reference whose name cannot be a variable's
 * or a stored secret's, or looks like a key: someone wrote the key where its
 * name belongs (`secret: env:sk-proj-…`). The refusal never shows the name,
 * which would put the key in a CI or container log; it gives its fingerprint,
 * the one the key shows everywhere else (ListProviders, the logs).
 */
export function checkReferenceName(ref: SecretRef): void {
  if (ref.scheme !== "env" && ref.scheme !== "file") return;
  const valid = ref.scheme === "env" ? ENV_NAME.test(ref.path) : SECRET_NAME.test(ref.path);
  const keyLike = looksLikeKey(ref.path);
  if (valid && !keyLike) return;
  const what = ref.scheme === "env" ? "the name of the environment variable that holds the key (env:OPENAI_API_KEY)" : "the name of a stored secret (file:openai)";
  const why = keyLike ? "looks like a key itself" : `cannot be ${ref.scheme === "env" ? "an environment variable's" : "a stored secret's"} name`;
  throw new ConfigError(
    "config",
    "",
    `a "${ref.scheme}:" reference (not shown: what follows "${ref.scheme}:" ${why}; its fingerprint is #${fingerprint(ref.path)}) must give ${what}, never the key`,
  );
}
