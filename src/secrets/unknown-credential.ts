import { credentialResourceName } from "../api/admin/resource-names.js";
import { KeyPoolError } from "./key-pool-error.js";
import type { PoolKey } from "./pool-key.js";

/** The most credential names a NotFound lists: enough to spot the right one, short enough to read (ListProviders has them all). */
const NAMES_LISTED = 10;

/**
 * NotFound for a credential the pool does not have (`purpose`: " to replace"), in the names ListProviders
 * gives, with the pool's own listed: a provider enabled by OPENAI_API_KEY holds `credentials/env`, not the
 * `primary` a runbook may say. Keys still in use come first, retired ones after.
 */
export function unknownCredential(provider: string, credentialId: string, keys: Iterable<PoolKey>, purpose = ""): KeyPoolError {
  const all = [...keys];
  const ordered = [...all.filter((key) => key.state !== "retired"), ...all.filter((key) => key.state === "retired")];
  const names = ordered.slice(0, NAMES_LISTED).map((key) => credentialResourceName(provider, key.credential.id));
  const more = ordered.length > NAMES_LISTED ? ` and ${ordered.length - NAMES_LISTED} more (ListProviders lists them)` : "";
  const has = names.length > 0 ? `its credentials are ${names.join(", ")}${more}` : "it has none";
  return new KeyPoolError("not_found", `provider "${provider}" has no credential ${credentialResourceName(provider, credentialId)}${purpose}; ${has}`);
}
