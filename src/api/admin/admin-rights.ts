import { AdminRights } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import type { Principal } from "../../auth/principal.js";
import { isMaster } from "./admin-containment.js";

/**
 * What a principal may do with the AdminService, as the auth interceptor and
 * admin-containment.ts judge it: told to a console so that it offers only
 * the actions the gateway would take.
 */
export function adminRightsOf(principal: Principal | undefined): AdminRights {
  if (!principal?.admin) return AdminRights.UNSPECIFIED;
  if (isMaster(principal)) return AdminRights.MASTER;
  return principal.policy?.record.adminReadOnly ? AdminRights.READ_ONLY : AdminRights.ADMIN;
}
