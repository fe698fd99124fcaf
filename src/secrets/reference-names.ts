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
 * a piece of it starting with a vendor's key prefix, or a run of 16 letters and digits mixing upper case,
 * lower case and digits, or of 24 mixing letters and digits (hex keys).
 */
export function looksLikeKey(name: string): boolean {
  // Each piece of a path (`secret/openai#<key>`, an ARN) may be the pasted key.
  if ([name, ...name.split(/[/#:]/)].some((piece) => KEY_PREFIX.test(piece))) return true;
  return (name.match(LONG_RUN) ?? []).some((run) => {
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((letters) => letters.test(run)).length;
    return classes === 3 || (run.length >= 24 && /[0-9]/.test(run) && /[A-Za-z]/.test(run));
  });
}

/**
 * Refuses a reference whose name looks like a key (someone wrote the key
 * where its name belongs: `secret: env:sk-proj-…`, `vault:sk-…`), whatever
 * its scheme, and an `env:` or `file:` reference whose name cannot be a
 * variable's or a stored secret's. The refusal never shows the name, which
 * would put the key in a CI or container log, an admin answer or the
 * console; it gives its fingerprint, the one the key shows everywhere else
 * (ListProviders, the logs).
 */
export function checkReferenceName(ref: SecretRef): void {
  const keyLike = looksLikeKey(ref.path);
  const named = ref.scheme === "env" || ref.scheme === "file";
  const valid = !named || (ref.scheme === "env" ? ENV_NAME.test(ref.path) : SECRET_NAME.test(ref.path));
  if (valid && !keyLike) return;
  const why = keyLike ? "looks like a key itself" : `cannot be ${ref.scheme === "env" ? "an environment variable's" : "a stored secret's"} name`;
  throw new ConfigError(
    "config",
    "",
    `a "${ref.scheme}:" reference (not shown: what follows "${ref.scheme}:" ${why}; its fingerprint is #${fingerprint(ref.path)}) must give ${WHAT_FOLLOWS[ref.scheme]}, never the key`,
  );
}

/** What belongs after each scheme, with an example. */
const WHAT_FOLLOWS: Record<SecretRef["scheme"], string> = {
  env: "the name of the environment variable that holds the key (env:OPENAI_API_KEY)",
  file: "the name of a stored secret (file:openai)",
  vault: "the secret's path in Vault and its field (vault:secret/switchboard/openai#api_key)",
  "aws-sm": "the secret's name or ARN in AWS Secrets Manager, and its field if it holds JSON (aws-sm:switchboard/openai#api_key)",
  db: "the name of a secret in the database store (db:openai)",
};
