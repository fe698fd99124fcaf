import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { ListProvidersResponseSchema } from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import { badRequest } from "../../common/bad-request.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { Logger } from "../../observability/logger.js";
import { KeyPoolError, type KeyView } from "../../secrets/key-pool.js";
import type { PoolAction, PoolActionBus } from "../../secrets/pool-action-bus.js";
import type { ProviderPools } from "../../secrets/provider-pools.js";
import { FieldViolations } from "../aip/field-violations.js";
import { MANAGE_VENDOR_KEYS, requireMaster } from "./admin-containment.js";
import { toCredential, toProvider } from "./provider-messages.js";
import { nextProviderPageToken, readCredentialName, readProviderListing, readStageKey } from "./provider-requests.js";
import { credentialResourceName } from "./resource-names.js";

/** The ErrorInfo reason of a DisableKey applied here that the store or the other instances did not take (metadata `stored`, `told`). */
export const FLEET_NOT_TOLD = "FLEET_NOT_TOLD";

export interface ProviderAdminDeps {
  pools: ProviderPools;
  /** Each provider's dialect, as ListProviders shows it. */
  dialects: ReadonlyMap<string, string>;
  logger: Logger;
  /** With Redis: carries each action that succeeds here to every other instance. */
  bus?: PoolActionBus;
}

/** The part of the AdminService that createProviderAdmin implements. */
export type ProviderAdmin = Pick<ServiceImpl<typeof AdminService>, "listProviders" | "stageKey" | "promoteKey" | "rollbackKey" | "disableKey">;

/**
 * The AdminService's provider-credential methods: list the pools, stage,
 * promote, roll back and disable keys. Answers name keys by resource name
 * and fingerprint only; the admin scope is checked by the auth interceptor,
 * and every change needs the master key. Stages and their verdicts are
 * recorded in the store by the pools (KeyRotationRecords), so a restart keeps them.
 */
export function createProviderAdmin({ pools, dialects, logger, bus }: ProviderAdminDeps): ProviderAdmin {
  const log = logger.child({ component: "admin" });
  const actor = (ctx: HandlerContext) => ctx.values.get(principalKey)?.keyId ?? "unknown";
  /** The state reason an operator's action leaves: who, and why when they said. */
  const reasonOf = (done: string, ctx: HandlerContext, why = "") => `${done} by "${actor(ctx)}"${why ? `: ${why.slice(0, 200)}` : ""}`;
  const tellFleet = (action: PoolAction) => bus?.publish(action);
  /** Vendor credentials serve every key: changing them is the master key's alone. */
  const requireMasterFor = (ctx: HandlerContext) => requireMaster(ctx.values.get(principalKey), MANAGE_VENDOR_KEYS, "may not change vendor credentials");

  return {
    listProviders(req) {
      const v = new FieldViolations();
      const { size, after } = readProviderListing(req, v);
      v.throwIfAny();
      const names = pools.names().sort();
      const start = after === undefined ? 0 : names.filter((name) => name <= after).length;
      const page = names.slice(start, start + size);
      return create(ListProvidersResponseSchema, {
        providers: page.map((name) => toProvider(name, dialects.get(name) ?? "", pools.pool(name)!.list())),
        nextPageToken: start + size < names.length ? nextProviderPageToken(page[page.length - 1]!) : "",
      });
    },

    async stageKey(req, ctx) {
      requireMasterFor(ctx);
      const v = new FieldViolations();
      const { provider, request } = readStageKey(req, v);
      v.throwIfAny();
      const view = await guard(() => pools.stage(provider, request));
      log.info({ actor: actor(ctx), provider, credential: view.id, fingerprint: view.fingerprint, source: view.source }, "admin staged a key");
      await tellFleet({ op: "stage", provider, request });
      return { credential: toCredential(provider, view) };
    },

    async promoteKey(req, ctx) {
      requireMasterFor(ctx);
      const target = readCredentialName(req.name, "name");
      const reason = reasonOf("promoted", ctx);
      // Recorded in the store too: a restart keeps the promoted key and never brings back the one it replaced.
      const { promoted, replaced } = await guard(() => pools.promote(target.provider, target.id, reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: promoted.id, fingerprint: promoted.fingerprint }, "admin promoted a key");
      await tellFleet({ op: "promote", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, promoted), replaced: replaced && toCredential(target.provider, replaced) };
    },

    async rollbackKey(req, ctx) {
      requireMasterFor(ctx);
      const target = readCredentialName(req.name, "name");
      const reason = reasonOf("rolled back", ctx, req.reason);
      const view = await guard(() => pools.rollback(target.provider, target.id, reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin rolled back a key");
      await tellFleet({ op: "rollback", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, view) };
    },

    async disableKey(req, ctx) {
      requireMasterFor(ctx);
      const target = readCredentialName(req.name, "name");
      const reason = reasonOf("disabled", ctx, req.reason);
      const { view, stored } = await guard(() => pools.disable(target.provider, target.id, reason));
      log.warn({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin disabled a key");
      const told = (await tellFleet({ op: "disable", provider: target.provider, credentialId: target.id, reason })) ?? true;
      // A leaked key still in use elsewhere is no success: say what was done and what was not.
      if (!stored || !told) throw fleetNotTold(target.provider, view, stored, told, pools.disabledRefreshMs);
      return { credential: toCredential(target.provider, view) };
    },
  };
}

/** DisableKey's answer when the disable holds here but the store or the other instances did not take it. */
function fleetNotTold(provider: string, view: KeyView, stored: boolean, told: boolean, refreshMs: number | undefined): Error {
  const name = credentialResourceName(provider, view.id);
  const poll = refreshMs !== undefined ? `on its next read of the store (every ${refreshMs / 1000} s) or ` : "";
  const message = !stored && !told
    ? `${name} is disabled on this instance only: neither the store nor Redis took it, so the other instances (and this one after a restart) may use the key; call DisableKey again`
    : !stored
      ? `${name} is disabled on this instance and the other instances were told, but the store did not keep it: a restart, or an instance that missed the news, may use the key again; call DisableKey again once the store answers`
      : `${name} is disabled on this instance and kept in the store, but Redis did not take the news to the other instances: each disables it ${poll}when its Redis subscription comes back; call DisableKey again to tell them now`;
  const metadata: Record<string, string> = { credential: name, fingerprint: view.fingerprint, stored: String(stored), told: String(told) };
  if (refreshMs !== undefined) metadata.refresh_ms = String(refreshMs);
  return gatewayError(Code.Unavailable, message, FLEET_NOT_TOLD, metadata);
}

const POOL_CODES = {
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  invalid_argument: Code.InvalidArgument,
};

/** Runs a pool action, turning its refusals into the matching Connect codes. */
async function guard<T>(action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof KeyPoolError)) throw err;
    if (err.code === "invalid_argument" && err.field) {
      // The pool's message starts with the field ("secret_ref must be …"), which BadRequest's message names already.
      const description = err.message.startsWith(`${err.field} `) ? err.message.slice(err.field.length + 1) : err.message;
      throw badRequest({ field: err.field, description });
    }
    if (err.info) throw gatewayError(POOL_CODES[err.code], err.message, err.info.reason, err.info.metadata);
    throw new ConnectError(err.message, POOL_CODES[err.code]);
  }
}
