import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { ListProvidersResponseSchema } from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import { badRequest } from "../../common/bad-request.js";
import type { Logger } from "../../observability/logger.js";
import { KeyPoolError } from "../../secrets/key-pool.js";
import type { PoolAction, PoolActionBus } from "../../secrets/pool-action-bus.js";
import type { ProviderPools } from "../../secrets/provider-pools.js";
import { FieldViolations } from "../aip/field-violations.js";
import { MANAGE_VENDOR_KEYS, requireMaster } from "./admin-containment.js";
import { toCredential, toProvider } from "./provider-messages.js";
import { nextProviderPageToken, readCredentialName, readProviderListing, readStageKey } from "./provider-requests.js";

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
 * and every change needs the master key.
 */
export function createProviderAdmin({ pools, dialects, logger, bus }: ProviderAdminDeps): ProviderAdmin {
  const log = logger.child({ component: "admin" });
  const actor = (ctx: HandlerContext) => ctx.values.get(principalKey)?.keyId ?? "unknown";
  /** The state reason an operator's action leaves: who, and why when they said. */
  const reasonOf = (done: string, ctx: HandlerContext, why = "") => `${done} by "${actor(ctx)}"${why ? `: ${why.slice(0, 200)}` : ""}`;
  const tellFleet = (action: PoolAction) => bus?.publish(action);
  /** Vendor credentials serve every key: changing them is the master key's alone. */
  const requireMasterFor = (ctx: HandlerContext) => requireMaster(ctx.values.get(principalKey), MANAGE_VENDOR_KEYS, "may not change vendor credentials");
  const pool = (provider: string) => {
    const found = pools.pool(provider);
    if (!found) throw new ConnectError(`no provider "${provider}"`, Code.NotFound);
    return found;
  };

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
      const { promoted, replaced } = await guard(() => pool(target.provider).promote(target.id, "promoted", reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: promoted.id, fingerprint: promoted.fingerprint }, "admin promoted a key");
      await tellFleet({ op: "promote", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, promoted), replaced: replaced && toCredential(target.provider, replaced) };
    },

    async rollbackKey(req, ctx) {
      requireMasterFor(ctx);
      const target = readCredentialName(req.name, "name");
      const reason = reasonOf("rolled back", ctx, req.reason);
      const view = await guard(() => pool(target.provider).rollback(target.id, "rolled_back", reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin rolled back a key");
      await tellFleet({ op: "rollback", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, view) };
    },

    async disableKey(req, ctx) {
      requireMasterFor(ctx);
      const target = readCredentialName(req.name, "name");
      const reason = reasonOf("disabled", ctx, req.reason);
      const view = await guard(() => pool(target.provider).disable(target.id, reason));
      log.warn({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin disabled a key");
      await tellFleet({ op: "disable", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, view) };
    },
  };
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
    throw new ConnectError(err.message, POOL_CODES[err.code]);
  }
}
