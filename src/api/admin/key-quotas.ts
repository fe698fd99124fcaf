import { Code, type ConnectError } from "@connectrpc/connect";
import type { KeyRecord } from "../../auth/key-policy.js";
import { keyState, type KeyQuotaError, type KeyQuota } from "../../auth/key-store.js";
import type { Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { UsageConfig } from "../../config/usage-config.js";
import { callerId, isMaster } from "./admin-containment.js";

/** The ErrorInfo reason of a key refused because it would pass a bound on keys (live, or retired lately) (metadata `key`, `quota`, `limit`, and `team` or `created_by`). */
export const KEY_QUOTA_EXCEEDED = "KEY_QUOTA_EXCEEDED";

export type KeyQuotas = UsageConfig["keyQuotas"];

/**
 * The bounds a key made by `principal` counts against: the whole gateway's,
 * and but for the master key's (the operator's own, bounded in all only)
 * its team's and its maker's. So no admin key, a team's included, can fill
 * the store every tenant shares with keys.
 */
export function quotasForNewKey(principal: Principal | undefined, key: Pick<KeyRecord, "team" | "createdBy">, quotas: KeyQuotas): KeyQuota[] {
  const bounds: KeyQuota[] = [{ of: "all", limit: quotas.total }];
  if (!isMaster(principal)) {
    if (key.team) bounds.push({ of: { team: key.team }, limit: quotas.perTeam });
    // Keys from before makers were kept, and the master key's, count against no admin key.
    if (key.createdBy && key.createdBy !== "master") bounds.push({ of: { createdBy: key.createdBy }, limit: quotas.perAdminKey });
  }
  return bounds.filter((bound) => bound.limit > 0);
}

/**
 * The bounds an UpdateKey makes a key join: all of them when it comes back
 * to life (an expired key given a later expiry, else a way around them), its
 * new team's when it moves while live; none otherwise.
 */
export function quotasForChange(principal: Principal | undefined, before: KeyRecord, after: KeyRecord, quotas: KeyQuotas, now: number): KeyQuota[] {
  if (keyState(after, now) !== "active") return [];
  if (keyState(before, now) !== "active") return quotasForNewKey(principal, after, quotas);
  if (after.team === before.team) return [];
  return quotasForNewKey(principal, after, quotas).filter((bound) => bound.of !== "all" && "team" in bound.of);
}

/** ResourceExhausted naming the bound that was reached and the setting that raises it. */
export function keyQuotaExceeded(principal: Principal | undefined, err: KeyQuotaError): ConnectError {
  const { of, limit } = err.quota;
  const [what, setting, about]: [string, string, Record<string, string>] =
    of === "all"
      ? ["the gateway has", "keys.quotas.total", {}]
      : "team" in of
        ? [`team "${of.team}" has`, "keys.quotas.per_team", { team: of.team }]
        : [`admin key "${of.createdBy}" has made`, "keys.quotas.per_admin_key", { created_by: of.createdBy }];
  return gatewayError(
    Code.ResourceExhausted,
    `${what} ${err.counted} keys live or retired within ${retiredWithin(err.countedMs)}, and ${limit} at most (${setting}): a revoked or expired key frees its place ${retiredWithin(err.countedMs)} after, or ask the operator to raise ${setting} in the gateway's configuration`,
    KEY_QUOTA_EXCEEDED,
    { key: callerId(principal), quota: setting, limit: String(limit), ...about },
  );
}

/** keys.quotas.count_retired_hours as a message says it: "24 hours". */
function retiredWithin(countedMs: number): string {
  const hours = countedMs / 3_600_000;
  return `${hours} ${hours === 1 ? "hour" : "hours"}`;
}
