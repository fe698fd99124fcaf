import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";

/**
 * The AdminService, assembled from its parts (gateway keys, provider
 * credentials, usage). Methods a part does not implement answer
 * Unimplemented. The admin scope is enforced by the auth interceptor.
 */
export function createAdminService(...parts: Partial<ServiceImpl<typeof AdminService>>[]): Partial<ServiceImpl<typeof AdminService>> {
  return Object.assign({}, ...parts);
}
