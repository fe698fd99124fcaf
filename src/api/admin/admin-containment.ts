import { Code } from "@connectrpc/connect";
import type { KeyRecord } from "../../auth/key-policy.js";
import type { Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { beyondPolicy } from "./policy-bounds.js";

/** The ErrorInfo reason when an admin key tries what only the master key may do. */
export const MASTER_KEY_REQUIRED = "MASTER_KEY_REQUIRED";

/** The ErrorInfo reason when an admin key makes or changes a key beyond its own policy (metadata `field`). */
export const OUTSIDE_OWN_POLICY = "OUTSIDE_OWN_POLICY";

/** The `action` of the MASTER_KEY_REQUIRED refusal of a write to vendor credentials or stored secrets by an admin key. */
export const MANAGE_VENDOR_KEYS = "manage_vendor_keys";

/** The bootstrap key: the only principal without a stored key's policy. */
export function isMaster(principal: Principal | undefined): boolean {
  return principal !== undefined && principal.keyId === "master" && principal.policy === undefined;
}

/** A key's admin rights, ordered: 0 none, 1 read-only admin, 2 full admin. */
function adminRights(key: KeyRecord): number {
  return !key.admin ? 0 : key.adminReadOnly ? 1 : 2;
}

/** The calling key's id, for refusals and logs. */
export function callerId(principal: Principal | undefined): string {
  return principal?.keyId ?? "unknown";
}

function refuse(principal: Principal | undefined, action: string, message: string): never {
  throw gatewayError(Code.PermissionDenied, `key "${callerId(principal)}" ${message}: only the master key may`, MASTER_KEY_REQUIRED, {
    key: callerId(principal),
    action,
  });
}

/**
 * What only the master key may do at all, whatever the admin key's policy
 * (`action` names it in the refusal): vendor credentials and stored secrets
 * serve every key, so an admin key that could disable or replace them could
 * take a provider down for everyone.
 */
export function requireMaster(principal: Principal | undefined, action: string, message: string): void {
  if (!isMaster(principal)) refuse(principal, action, message);
}

/**
 * Admin keys are contained: without these rules an admin key could mint an
 * unrestricted admin key, or an ordinary key beyond its own scope, limits and
 * budget, and so be the master key in all but name. Only the master key may
 * create an admin key; an admin key creates ordinary keys within its own policy.
 */
export function checkCreate(principal: Principal | undefined, created: KeyRecord): void {
  if (isMaster(principal)) return;
  if (created.admin) refuse(principal, "create_admin_key", "may not create an admin key");
  checkWithinOwnPolicy(principal, created);
}

/**
 * Only the master key may widen admin rights (make a key an admin, or a
 * read-only admin a full one) or change another admin key's settings, and an
 * admin key may not change itself at all (revoking itself stays allowed: that
 * only takes rights away). Narrowing another admin key's rights stays open;
 * any other change leaves an ordinary key within the caller's own policy.
 */
export function checkUpdate(principal: Principal | undefined, before: KeyRecord, after: KeyRecord): void {
  if (isMaster(principal)) return;
  if (callerId(principal) === before.id) refuse(principal, "update_own_key", "may not change its own key");
  if (adminRights(after) > adminRights(before)) refuse(principal, "widen_admin_rights", `may not widen the admin rights of key "${before.id}"`);
  if (adminRights(before) > 0) {
    // Two admin keys could otherwise lift each other's limits.
    if (settingsDiffer(before, after)) refuse(principal, "update_admin_key", `may not change the settings of another admin key ("${before.id}"), only narrow its admin rights`);
    return;
  }
  checkWithinOwnPolicy(principal, after);
}

function checkWithinOwnPolicy(principal: Principal | undefined, key: KeyRecord): void {
  const own = principal?.policy?.record;
  // Not the master key and no policy to bound by: nothing is within it.
  const excess = own ? beyondPolicy(key, own) : { field: "allowed_models", reason: "the caller has no policy to bound it" };
  if (!excess) return;
  throw gatewayError(Code.PermissionDenied, `key "${callerId(principal)}" may only make keys within its own policy: ${excess.reason}`, OUTSIDE_OWN_POLICY, {
    key: callerId(principal),
    field: excess.field,
  });
}

/** Whether anything but the admin rights (and the update time) differs. */
function settingsDiffer(before: KeyRecord, after: KeyRecord): boolean {
  const settings = (key: KeyRecord) =>
    JSON.stringify([
      key.displayName,
      key.team,
      key.allowedModels,
      key.requestsPerMinute,
      key.tokensPerMinute,
      key.budget && [key.budget.limitNanos, key.budget.period, key.budget.softThreshold, key.budget.whenExhausted],
      key.economyModels.map((mapping) => [mapping.model, mapping.economyModel]),
      key.expireMs,
    ]);
  return settings(before) !== settings(after);
}
