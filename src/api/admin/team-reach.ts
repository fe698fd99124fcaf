import { Code } from "@connectrpc/connect";
import type { KeyRecord } from "../../auth/key-policy.js";
import type { Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { callerId, isMaster } from "./admin-containment.js";
import { KEY_NAME } from "./resource-names.js";

/**
 * The ErrorInfo reason when an admin key of a team reaches for another
 * team's key (metadata `key`, the caller; `action`; `target`) or asks to see
 * another team's keys or usage (metadata `key` and `field`).
 */
export const OUTSIDE_OWN_TEAM = "OUTSIDE_OWN_TEAM";

/**
 * The team an admin key is held to: its own, when it has one. A team is a
 * tenant (its keys share its cached answers, its reports are its spend), so
 * a team's admin key sees, changes and revokes that team's keys only. The
 * master key and admin keys without a team reach every team: undefined.
 */
export function teamOf(principal: Principal | undefined): string | undefined {
  if (isMaster(principal)) return undefined;
  return principal?.policy?.record.team || undefined;
}

/** Refuses an admin key held to a team any `action` ("read", "change", "revoke", "purge") on a key of another team. */
export function requireOwnTeam(principal: Principal | undefined, key: Pick<KeyRecord, "id" | "team">, action: string): void {
  const team = teamOf(principal);
  if (team === undefined || key.team === team) return;
  const target = KEY_NAME.format({ key: key.id });
  // The other key's team is not named: it is another tenant's.
  throw gatewayError(Code.PermissionDenied, `key "${callerId(principal)}" may only ${action} keys of its own team "${team}", and "${target}" is not one`, OUTSIDE_OWN_TEAM, {
    key: callerId(principal),
    action,
    target,
  });
}

/**
 * The team a listing, report or watch is held to: for an admin key held to
 * a team, that team whatever was asked (asking for another, in `field`, is
 * refused); for others, the team asked for (undefined: every team).
 */
export function teamWithinReach(principal: Principal | undefined, asked: string | undefined, field: string): string | undefined {
  const team = teamOf(principal);
  if (team === undefined) return asked;
  if (asked !== undefined && asked !== team) {
    throw gatewayError(Code.PermissionDenied, `key "${callerId(principal)}" may only see its own team "${team}": ${field} names another`, OUTSIDE_OWN_TEAM, {
      key: callerId(principal),
      field,
    });
  }
  return team;
}
