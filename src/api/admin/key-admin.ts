import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CreateKeyResponseSchema,
  GatewayKeySchema,
  GetKeyResponseSchema,
  ListKeysResponseSchema,
  RevokeKeyResponseSchema,
  UpdateKeyResponseSchema,
  type GatewayKey,
} from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { generateGatewayKey, GATEWAY_KEY_PREFIX, type KeyHasher } from "../../auth/gateway-key.js";
import type { KeyRecord } from "../../auth/key-policy.js";
import { KeyExistsError, KeyQuotaError, type KeyListQuery, type KeyStore } from "../../auth/key-store.js";
import { principalKey, type Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { Logger } from "../../observability/logger.js";
import { currentPeriod, type SpendCounter } from "../../usage/budgets.js";
import { FieldViolations } from "../aip/field-violations.js";
import { checkCreate, checkUpdate } from "./admin-containment.js";
import { toBudgetStatus, toGatewayKey } from "./key-messages.js";
import { keyQuotaExceeded, quotasForChange, quotasForNewKey, type KeyQuotas } from "./key-quotas.js";
import { impliedPaths, KEY_PAGE_BOUNDS, nextKeyPageToken, readKeyListing, readKeyUpdate, readNewKey, type KeySettingRules } from "./key-requests.js";
import { KEY_NAME } from "./resource-names.js";
import { requireOwnTeam, teamOf, teamWithinReach } from "./team-reach.js";

export interface KeyAdminDeps extends KeySettingRules {
  store: KeyStore;
  hasher: KeyHasher;
  spend: SpendCounter;
  /** Tells every instance (this one included) that a key changed, so caches drop it. */
  changed(keyId: string): Promise<void>;
  /** Live keys at most, per team, per admin key that made them and in all (key-quotas.ts). */
  quotas: KeyQuotas;
  logger: Logger;
  /** The most a ListKeys page's keys may take encoded; KEY_PAGE_BOUNDS.maxBytes unless a test says less. */
  maxPageBytes?: number;
}

/** The ErrorInfo reason of an UpdateKey that lost a race: the key changed between its read and its write. */
export const CONCURRENT_UPDATE = "CONCURRENT_UPDATE";

/** The part of the AdminService that createKeyAdmin implements (createAdminService checks the parts cover it all). */
export type KeyAdmin = Pick<ServiceImpl<typeof AdminService>, "createKey" | "getKey" | "listKeys" | "updateKey" | "revokeKey">;

/**
 * AdminService's gateway-key methods. The key itself exists only in
 * CreateKey's response; the store keeps its HMAC digest and a hint.
 */
export function createKeyAdmin(deps: KeyAdminDeps): KeyAdmin {
  const log = deps.logger.child({ component: "admin" });
  const actor = (ctx: HandlerContext) => ctx.values.get(principalKey)?.keyId ?? "unknown";
  /**
   * A budget added, removed or given another period: the key's spend figures missed its calls meanwhile (only calls
   * under a budget count into them), so they are dropped, to be rebuilt from the ledger by the next call.
   */
  const forgetSpend = async (keyId: string): Promise<void> => {
    try {
      await deps.spend.forget(keyId);
    } catch (err) {
      log.error({ key: keyId, error: (err as Error).message }, "could not drop the key's spend figures after its budget changed: its spend may be undercounted until the period ends");
    }
  };
  /** Get and Update show the budget's status too (List does not: a spend read a key). */
  const show = async (record: KeyRecord, withStatus: boolean): Promise<GatewayKey> => {
    const key = toGatewayKey(record, deps.currency);
    if (withStatus && record.budget) {
      const period = currentPeriod(record.budget.period);
      key.budgetStatus = toBudgetStatus(record.budget, period, await deps.spend.spent(record.id, period), deps.currency);
    }
    return key;
  };
  const maxPageBytes = deps.maxPageBytes ?? KEY_PAGE_BOUNDS.maxBytes;
  /** Quotas are checked as the key is written, in the same transaction: a refusal there is ResourceExhausted, naming the bound. */
  const withinQuotas = async <T>(principal: Principal | undefined, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (err) {
      if (err instanceof KeyQuotaError) throw keyQuotaExceeded(principal, err);
      throw err;
    }
  };
  /**
   * Keys of one ListKeys page from `after` on: at most `size`, and no more
   * once those shown take `maxPageBytes` encoded (at least one is, so a
   * listing always moves on). Read from the store a batch at a time, so a
   * page of large keys reads little more than it shows.
   */
  const keyPage = async (query: Omit<KeyListQuery, "limit">, size: number): Promise<{ keys: GatewayKey[]; last?: KeyRecord; more: boolean }> => {
    const keys: GatewayKey[] = [];
    let bytes = 0;
    let after = query.after;
    for (;;) {
      const wanted = Math.min(size - keys.length, KEY_PAGE_BOUNDS.readBatch);
      // One more than wanted: whether there is more after them.
      const records = await deps.store.list({ ...query, after, limit: wanted + 1 });
      const batch = records.slice(0, wanted);
      for (const [i, record] of batch.entries()) {
        const key = await show(record, false);
        keys.push(key);
        bytes += toBinary(GatewayKeySchema, key).length;
        if (bytes >= maxPageBytes) return { keys, last: record, more: records.length > i + 1 };
      }
      const last = batch[batch.length - 1];
      if (records.length <= wanted || keys.length >= size) return { keys, last, more: records.length > wanted };
      after = last && { createMs: last.createMs, id: last.id };
    }
  };
  const existing = async (name: string, field: string): Promise<KeyRecord> => {
    const record = await deps.store.get(KEY_NAME.require(name, field).key);
    if (!record) throw new ConnectError(`key "${name}" not found`, Code.NotFound);
    return record;
  };

  return {
    async createKey(req, ctx) {
      const v = new FieldViolations();
      const record = readNewKey(req, req.keyId || `key-${randomBytes(6).toString("hex")}`, deps, v, Date.now());
      v.throwIfAny();
      const principal = ctx.values.get(principalKey);
      // A team's admin key makes its team's keys: one asked for without a team is put in it (the console's form leaves it blank).
      record.team ||= teamOf(principal) ?? "";
      record.createdBy = actor(ctx);
      checkCreate(principal, record);
      const secret = generateGatewayKey();
      record.digest = deps.hasher.digest(secret).toString("hex");
      record.keyHint = `${GATEWAY_KEY_PREFIX}…${secret.slice(-4)}`;
      await withinQuotas(principal, async () => {
        try {
          await deps.store.insert(record, quotasForNewKey(principal, record, deps.quotas));
        } catch (err) {
          if (err instanceof KeyExistsError) throw new ConnectError(`key "${KEY_NAME.format({ key: record.id })}" already exists`, Code.AlreadyExists);
          throw err;
        }
      });
      // The audit trail: who made which key with what (names of settings only, never the key).
      log.info({ actor: actor(ctx), key: record.id, action: "create", paths: impliedPaths(req.key ?? create(GatewayKeySchema)) }, "admin created a key");
      return create(CreateKeyResponseSchema, { key: await show(record, false), secret });
    },

    async getKey(req, ctx) {
      const record = await existing(req.name, "name");
      requireOwnTeam(ctx.values.get(principalKey), record, "read");
      return create(GetKeyResponseSchema, { key: await show(record, true) });
    },

    async listKeys(req, ctx) {
      const v = new FieldViolations();
      const { size, after, filter } = readKeyListing(req, v);
      v.throwIfAny();
      const team = teamWithinReach(ctx.values.get(principalKey), filter.team, "filter");
      const page = await keyPage({ ...filter, team, after, now: Date.now() }, size);
      return create(ListKeysResponseSchema, {
        keys: page.keys,
        nextPageToken: page.more && page.last ? nextKeyPageToken(page.last, filter) : "",
      });
    },

    async updateKey(req, ctx) {
      const name = req.key?.name ?? "";
      const record = await existing(name, "key.name");
      const principal = ctx.values.get(principalKey);
      // Before anything else is said of it (revoked, say): another team's key is beyond reach.
      requireOwnTeam(principal, record, "change");
      if (record.revokeMs !== undefined) throw new ConnectError(`key "${name}" is revoked and cannot be changed`, Code.FailedPrecondition);
      const v = new FieldViolations();
      const now = Date.now();
      const { next, paths } = readKeyUpdate(req, record, deps, v, now);
      v.throwIfAny();
      checkUpdate(principal, record, next);
      // Written only if the key is still as read and judged: a change made meanwhile (the master key's demotion, say) is never overwritten.
      const quotas = quotasForChange(principal, record, next, deps.quotas, now);
      if (!(await withinQuotas(principal, () => deps.store.update(next, record.updateMs, quotas)))) {
        throw gatewayError(Code.Aborted, `key "${name}" changed while this update was being made: read it again and retry`, CONCURRENT_UPDATE, { key: record.id });
      }
      if (record.budget?.period !== next.budget?.period) await forgetSpend(record.id);
      await deps.changed(record.id);
      log.info({ actor: actor(ctx), key: record.id, action: "update", paths }, "admin updated a key");
      return create(UpdateKeyResponseSchema, { key: await show(next, true) });
    },

    async revokeKey(req, ctx) {
      const id = KEY_NAME.require(req.name, "name").key;
      const principal = ctx.values.get(principalKey);
      // Read first for an admin key held to a team only (between the read and the revocation, only a wider key could move the key out of it).
      if (teamOf(principal) !== undefined) requireOwnTeam(principal, await existing(req.name, "name"), "revoke");
      const record = await deps.store.revoke(id, Date.now());
      if (!record) throw new ConnectError(`key "${req.name}" not found`, Code.NotFound);
      await deps.changed(id);
      log.info({ actor: actor(ctx), key: id, action: "revoke" }, "admin revoked a key");
      return create(RevokeKeyResponseSchema, { key: await show(record, false) });
    },
  };
}
