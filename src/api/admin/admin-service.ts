import type { ServiceImpl } from "@connectrpc/connect";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { withAdminWriteRate, type AdminWriteRate } from "./admin-write-rate.js";
import { createCacheAdmin, type CacheAdminDeps } from "./cache-admin.js";
import { createConsoleAdmin, type ConsoleAdminDeps } from "./console-admin.js";
import { withEncodableAnswers } from "./encodable-answers.js";
import { createKeyAdmin, type KeyAdminDeps } from "./key-admin.js";
import { createProviderAdmin, type ProviderAdminDeps } from "./provider-admin.js";
import { withSecretFreeText } from "./secret-lookalike.js";
import { createSecretsAdmin, type SecretsAdminDeps } from "./secrets-admin.js";
import { createUsageAdmin, type UsageAdminDeps } from "./usage-admin.js";

export interface AdminServiceDeps {
  keys: KeyAdminDeps;
  providers: ProviderAdminDeps;
  usage: UsageAdminDeps;
  cache: CacheAdminDeps;
  /** Vendor keys in the gateway's database (`db:` secrets). */
  secrets: SecretsAdminDeps;
  /** Live views and charts: the call feed, usage over time, providers' latency. */
  console: ConsoleAdminDeps;
  /** The gateway's own secrets (ownSecretsOf): no name, team or reference an admin writes may hold one. */
  ownSecrets: readonly string[];
  /** The writes an admin key without a rate of its own may make (keys.admin_writes). */
  adminWrites: AdminWriteRate;
}

/**
 * The AdminService, from its parts: gateway keys, provider credentials, usage
 * reports, the response cache. Typed as the whole service, so an RPC no part implements fails the
 * build instead of answering Unimplemented. The admin scope is enforced by the
 * auth interceptor.
 */
export function createAdminService(deps: AdminServiceDeps): ServiceImpl<typeof AdminService> {
  const parts = { ...createKeyAdmin(deps.keys), ...createProviderAdmin(deps.providers), ...createUsageAdmin(deps.usage), ...createCacheAdmin(deps.cache), ...createSecretsAdmin(deps.secrets), ...createConsoleAdmin(deps.console) };
  // The write rate first: a refused write costs nothing more, a secret's check included.
  return withEncodableAnswers(AdminService, withAdminWriteRate(withSecretFreeText(parts, deps.ownSecrets), deps.adminWrites));
}
