import { Code } from "@connectrpc/connect";
import type { KeyRecord } from "../../auth/key-policy.js";
import type { Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";

/** The ErrorInfo reason when an admin key tries what only the master key may do. */
export const MASTER_KEY_REQUIRED = "MASTER_KEY_REQUIRED";

/** The bootstrap key: the only principal without a stored key's policy. */
function isMaster(principal: Principal | undefined): boolean {
  return principal !== undefined && principal.keyId === "master" && principal.policy === undefined;
}

/** A key's admin rights, ordered: 0 none, 1 read-only admin, 2 full admin. */
function adminRights(key: KeyRecord): number {
  return !key.admin ? 0 : key.adminReadOnly ? 1 : 2;
}

function refuse(principal: Principal | undefined, action: string, message: string): never {
  throw gatewayError(Code.PermissionDenied, `key "${principal?.keyId ?? "unknown"}" ${message}: only the master key may`, MASTER_KEY_REQUIRED, {
    key: principal?.keyId ?? "unknown",
    action,
  });
}

/**
 * Admin keys are contained: without these rules an admin key could mint an
 * unrestricted admin key, or lift its own budget and scope, and so be the
 * master key in all but name. Only the master key may create an admin key.
 */
export function checkCreate(principal: Principal | undefined, created: KeyRecord): void {
  if (isMaster(principal) || !created.admin) return;
  refuse(principal, "create_admin_key", "may not create an admin key");
}

/**
 * Only the master key may widen admin rights (make a key an admin, or a
 * read-only admin a full one), and an admin key may not change itself at all
 * (revoking itself stays allowed: that only takes rights away).
 */
export function checkUpdate(principal: Principal | undefined, before: KeyRecord, after: KeyRecord): void {
  if (isMaster(principal)) return;
  if (principal?.keyId === before.id) refuse(principal, "update_own_key", "may not change its own key");
  if (adminRights(after) > adminRights(before)) refuse(principal, "widen_admin_rights", `may not widen the admin rights of key "${before.id}"`);
}
