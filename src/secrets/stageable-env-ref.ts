import type { SecretRef } from "../config/config.js";
import { KeyPoolError } from "./key-pool-error.js";

/**
 * Variables of the gateway itself and its runtime (store, Redis, Vault, AWS,
 * telemetry, Node): their values are credentials to the gateway's own
 * infrastructure, never a vendor key, whatever the provider is called.
 */
const RESERVED_PREFIXES = ["SWITCHBOARD_", "DATABASE_", "REDIS_", "VAULT_", "BAO_", "AWS_", "OTEL_", "NODE_", "NPM_"];

/** A segment that marks a variable as a key ("OPENAI_API_KEY", "QIANFAN_SK", "MYVENDOR_TOKEN_NEXT"). */
const KEY_SEGMENT = new Set(["KEY", "SECRET", "TOKEN", "AK", "SK"]);

/** "my-vllm" → "MY_VLLM": how a provider's name begins its variables (the presets' OPENAI_API_KEY, QIANFAN_AK). */
function envPrefix(provider: string): string {
  return `${provider.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_`;
}

/**
 * StageKey's `env:` references may name only a vendor key of the provider
 * being staged: PROVIDER_…, with a KEY, SECRET, TOKEN, AK or SK part, and
 * not a variable of the gateway's own. Without this an admin key could stage
 * SWITCHBOARD_MASTER_KEY, VAULT_TOKEN or DATABASE_URL and have the gateway
 * send it to the vendor as the bearer token. The check runs before the
 * variable is read, so the refusal is the same whether it is set or not.
 */
export function checkStageableEnvRef(provider: string, ref: SecretRef, field: string): void {
  if (ref.scheme !== "env") return;
  const name = ref.path;
  const prefix = envPrefix(provider);
  const segments = name.slice(prefix.length).split("_");
  const stageable =
    /^[A-Z][A-Z0-9_]*$/.test(name) &&
    name.startsWith(prefix) &&
    !RESERVED_PREFIXES.some((reserved) => name.startsWith(reserved)) &&
    segments.some((segment) => KEY_SEGMENT.has(segment));
  if (stageable) return;
  throw new KeyPoolError(
    "invalid_argument",
    `${field} may name only a key variable of the provider, such as "env:${prefix}API_KEY_NEXT" (${prefix}…, with a KEY, SECRET, TOKEN, AK or SK part; ` +
      `never the gateway's own SWITCHBOARD_*, DATABASE_*, REDIS_*, VAULT_*, BAO_*, AWS_*, OTEL_*, NODE_* or NPM_* variables); stage other secrets from file:, db:, vault: or aws-sm:`,
    field,
  );
}
