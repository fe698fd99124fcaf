import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { MoneySchema, type Money } from "../../../gen/ts/google/type/money_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import {
  BudgetExhaustedAction,
  BudgetPeriod,
  BudgetSchema,
  BudgetStatusSchema,
  CreateKeyResponseSchema,
  EconomyMappingSchema,
  GatewayKeySchema,
  GatewayKeyState,
  GetKeyResponseSchema,
  ListKeysResponseSchema,
  RevokeKeyResponseSchema,
  UpdateKeyResponseSchema,
  type Budget,
  type BudgetStatus,
  type GatewayKey,
} from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { generateGatewayKey, GATEWAY_KEY_PREFIX, type KeyHasher } from "../../auth/gateway-key.js";
import type { EconomyMapping, KeyBudget, KeyRecord } from "../../auth/key-policy.js";
import { KeyExistsError, keyState, type KeyState, type KeyStore } from "../../auth/key-store.js";
import type { BudgetPeriodName, ExhaustedActionName, UsageConfig } from "../../config/usage-config.js";
import { currentPeriod, MAX_BUDGET_NANOS, type SpendCounter } from "../../usage/budgets.js";
import { fromMoneyParts, moneyParts, NANOS_PER_UNIT } from "../../usage/pricing.js";
import { Violations } from "../validate.js";

export interface KeyAdminDeps {
  store: KeyStore;
  hasher: KeyHasher;
  spend: SpendCounter;
  /** Tells every instance (this one included) that a key changed, so caches drop it. */
  changed(keyId: string): Promise<void>;
  defaults: UsageConfig["keyDefaults"];
  budgets: UsageConfig["budgets"];
  /** The accounting currency budgets are in. */
  currency: string;
}

const KEY_ID = /^[a-z][a-z0-9-]{2,62}$/;
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 50;

const PERIODS: Record<BudgetPeriodName, BudgetPeriod> = { day: BudgetPeriod.DAY, week: BudgetPeriod.WEEK, month: BudgetPeriod.MONTH };
const ACTIONS: Record<ExhaustedActionName, BudgetExhaustedAction> = {
  refuse: BudgetExhaustedAction.REFUSE,
  economy_only: BudgetExhaustedAction.ECONOMY_ONLY,
};
const STATES: Record<KeyState, GatewayKeyState> = {
  active: GatewayKeyState.ACTIVE,
  expired: GatewayKeyState.EXPIRED,
  revoked: GatewayKeyState.REVOKED,
};

/** Fields UpdateKey can change (AIP-134 paths), "*" meaning all of them. */
const UPDATABLE = [
  "display_name",
  "team",
  "allowed_models",
  "admin",
  "requests_per_minute",
  "tokens_per_minute",
  "budget",
  "economy_models",
  "expire_time",
] as const;
type Updatable = (typeof UPDATABLE)[number];
const BUDGET_SUBFIELDS = ["budget.limit", "budget.period", "budget.soft_threshold", "budget.when_exhausted"];

/**
 * AdminService's gateway-key methods. The key itself exists only in
 * CreateKey's response; the store keeps its HMAC digest and a hint.
 */
export function createKeyAdmin(deps: KeyAdminDeps): Partial<ServiceImpl<typeof AdminService>> {
  const toProto = async (record: KeyRecord, withStatus: boolean): Promise<GatewayKey> => {
    const key = create(GatewayKeySchema, {
      name: `keys/${record.id}`,
      displayName: record.displayName,
      team: record.team,
      allowedModels: record.allowedModels,
      admin: record.admin,
      requestsPerMinute: record.requestsPerMinute,
      tokensPerMinute: BigInt(record.tokensPerMinute),
      economyModels: record.economyModels.map((mapping) => create(EconomyMappingSchema, mapping)),
      createTime: timestampFromMs(record.createMs),
      updateTime: timestampFromMs(record.updateMs),
      revokeTime: record.revokeMs === undefined ? undefined : timestampFromMs(record.revokeMs),
      state: STATES[keyState(record)],
      keyHint: record.keyHint,
    });
    if (record.expireMs !== undefined) key.expiration = { case: "expireTime", value: timestampFromMs(record.expireMs) };
    if (record.budget) {
      key.budget = create(BudgetSchema, {
        limit: money(record.budget.limitNanos, deps.currency),
        period: PERIODS[record.budget.period],
        softThreshold: record.budget.softThreshold,
        whenExhausted: ACTIONS[record.budget.whenExhausted],
      });
      if (withStatus) key.budgetStatus = await budgetStatus(deps, record.id, record.budget);
    }
    return key;
  };

  return {
    async createKey(req) {
      const input = req.key ?? create(GatewayKeySchema);
      const v = new Violations();
      const keyId = req.keyId || `key-${randomBytes(6).toString("hex")}`;
      if (!KEY_ID.test(keyId)) v.add("key_id", "must be 3-63 lower-case letters, digits and hyphens, starting with a letter");
      if (keyId === "master") v.add("key_id", '"master" is the bootstrap key\'s id');
      if (!input.displayName.trim()) v.add("key.display_name", "is required");
      const now = Date.now();
      const record: KeyRecord = {
        id: keyId,
        digest: "",
        keyHint: "",
        displayName: input.displayName.trim(),
        team: input.team.trim(),
        admin: input.admin,
        allowedModels: checkModels(v, input.allowedModels),
        requestsPerMinute: checkLimit(v, "key.requests_per_minute", input.requestsPerMinute, deps.defaults.requestsPerMinute),
        tokensPerMinute: checkLimit(v, "key.tokens_per_minute", input.tokensPerMinute, deps.defaults.tokensPerMinute),
        budget: input.budget
          ? checkBudget(v, "key.budget", input.budget, deps)
          : deps.defaults.budget !== undefined
            ? {
                limitNanos: Math.round(deps.defaults.budget * NANOS_PER_UNIT),
                period: deps.budgets.period,
                softThreshold: deps.budgets.softThreshold,
                whenExhausted: deps.budgets.whenExhausted,
              }
            : undefined,
        economyModels: input.economyModels.length > 0 ? checkEconomy(v, input.economyModels) : deps.defaults.economyModels,
        expireMs: checkExpiration(v, input, now),
        createMs: now,
        updateMs: now,
      };
      v.throwIfAny();
      const secret = generateGatewayKey();
      record.digest = deps.hasher.digest(secret).toString("hex");
      record.keyHint = `${GATEWAY_KEY_PREFIX}…${secret.slice(-4)}`;
      try {
        await deps.store.insert(record);
      } catch (err) {
        if (err instanceof KeyExistsError) throw new ConnectError(`key "keys/${keyId}" already exists`, Code.AlreadyExists);
        throw err;
      }
      return create(CreateKeyResponseSchema, { key: await toProto(record, false), secret });
    },

    async getKey(req) {
      const record = await existing(deps.store, req.name, "name");
      return create(GetKeyResponseSchema, { key: await toProto(record, true) });
    },

    async listKeys(req) {
      const v = new Violations();
      if (req.pageSize < 0) v.add("page_size", "must not be negative");
      const after = req.pageToken ? decodePageToken(v, req.pageToken) : undefined;
      const filter = parseFilter(v, req.filter);
      v.throwIfAny();
      const limit = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const records = await deps.store.list({ ...filter, after, limit: limit + 1, now: Date.now() });
      const page = records.slice(0, limit);
      const last = page[page.length - 1];
      return create(ListKeysResponseSchema, {
        keys: await Promise.all(page.map((record) => toProto(record, false))),
        nextPageToken: records.length > limit && last ? encodePageToken(last) : "",
      });
    },

    async updateKey(req) {
      const input = req.key ?? create(GatewayKeySchema);
      const record = await existing(deps.store, input.name, "key.name");
      if (record.revokeMs !== undefined) throw new ConnectError(`key "${input.name}" is revoked and cannot be changed`, Code.FailedPrecondition);
      const v = new Violations();
      const paths = req.updateMask ? req.updateMask.paths : impliedMask(input);
      if (paths.length === 0) v.add("update_mask", "names no field to change");
      const next: KeyRecord = { ...record, updateMs: Date.now() };
      for (const path of paths.includes("*") ? UPDATABLE : paths) {
        if (BUDGET_SUBFIELDS.includes(path)) {
          next.budget = mergeBudget(v, path, input.budget, next.budget, deps);
          continue;
        }
        const field = path === "ttl" || path === "expiration" ? "expire_time" : path;
        if (!(UPDATABLE as readonly string[]).includes(field)) {
          v.add("update_mask", `"${path}" cannot be changed (changeable: ${UPDATABLE.join(", ")}, or budget.limit, budget.period, …)`);
          continue;
        }
        apply(v, field as Updatable, input, next, deps);
      }
      v.throwIfAny();
      if (!(await deps.store.update(next))) throw new ConnectError(`key "${input.name}" not found`, Code.NotFound);
      await deps.changed(record.id);
      return create(UpdateKeyResponseSchema, { key: await toProto(next, true) });
    },

    async revokeKey(req) {
      const id = parseName(req.name, "name");
      const record = await deps.store.revoke(id, Date.now());
      if (!record) throw new ConnectError(`key "${req.name}" not found`, Code.NotFound);
      await deps.changed(id);
      return create(RevokeKeyResponseSchema, { key: await toProto(record, false) });
    },
  };
}

function apply(v: Violations, field: Updatable, input: GatewayKey, next: KeyRecord, deps: KeyAdminDeps): void {
  switch (field) {
    case "display_name":
      if (!input.displayName.trim()) v.add("key.display_name", "is required");
      next.displayName = input.displayName.trim();
      return;
    case "team":
      next.team = input.team.trim();
      return;
    case "allowed_models":
      next.allowedModels = checkModels(v, input.allowedModels);
      return;
    case "admin":
      next.admin = input.admin;
      return;
    case "requests_per_minute":
      next.requestsPerMinute = checkLimit(v, "key.requests_per_minute", input.requestsPerMinute, 0);
      return;
    case "tokens_per_minute":
      next.tokensPerMinute = checkLimit(v, "key.tokens_per_minute", input.tokensPerMinute, 0);
      return;
    case "budget":
      next.budget = input.budget ? checkBudget(v, "key.budget", input.budget, deps) : undefined;
      return;
    case "economy_models":
      next.economyModels = checkEconomy(v, input.economyModels);
      return;
    case "expire_time":
      next.expireMs = checkExpiration(v, input, Date.now());
      return;
  }
}

/** AIP-134: without a mask, the fields the request sets. */
function impliedMask(input: GatewayKey): string[] {
  const paths: string[] = [];
  if (input.displayName) paths.push("display_name");
  if (input.team) paths.push("team");
  if (input.allowedModels.length > 0) paths.push("allowed_models");
  if (input.admin) paths.push("admin");
  if (input.requestsPerMinute !== undefined) paths.push("requests_per_minute");
  if (input.tokensPerMinute !== undefined) paths.push("tokens_per_minute");
  if (input.budget) paths.push("budget");
  if (input.economyModels.length > 0) paths.push("economy_models");
  if (input.expiration.case) paths.push("expire_time");
  return paths;
}

function mergeBudget(v: Violations, path: string, input: Budget | undefined, current: KeyBudget | undefined, deps: KeyAdminDeps): KeyBudget | undefined {
  if (!current && path !== "budget.limit") {
    v.add("update_mask", `${path}: the key has no budget; set budget.limit (or budget) first`);
    return current;
  }
  const base: KeyBudget = current ?? { limitNanos: 0, period: deps.budgets.period, softThreshold: deps.budgets.softThreshold, whenExhausted: deps.budgets.whenExhausted };
  const given = input ?? create(BudgetSchema);
  switch (path) {
    case "budget.limit":
      return { ...base, limitNanos: checkMoney(v, "key.budget.limit", given.limit, deps.currency) };
    case "budget.period":
      return { ...base, period: periodName(given.period) ?? deps.budgets.period };
    case "budget.soft_threshold":
      return { ...base, softThreshold: checkThreshold(v, "key.budget.soft_threshold", given.softThreshold) ?? deps.budgets.softThreshold };
    default:
      return { ...base, whenExhausted: actionName(given.whenExhausted) ?? deps.budgets.whenExhausted };
  }
}

function checkModels(v: Violations, models: string[]): string[] {
  const trimmed = models.map((model) => model.trim());
  trimmed.forEach((model, i) => {
    if (!model) v.add(`key.allowed_models[${i}]`, "must not be empty");
  });
  return trimmed;
}

function checkLimit(v: Violations, field: string, value: number | bigint | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) v.add(field, "must be 0 (unlimited) or a positive whole number");
  return n;
}

function checkBudget(v: Violations, field: string, budget: Budget, deps: KeyAdminDeps): KeyBudget {
  return {
    limitNanos: checkMoney(v, `${field}.limit`, budget.limit, deps.currency),
    period: periodName(budget.period) ?? deps.budgets.period,
    softThreshold: checkThreshold(v, `${field}.soft_threshold`, budget.softThreshold) ?? deps.budgets.softThreshold,
    whenExhausted: actionName(budget.whenExhausted) ?? deps.budgets.whenExhausted,
  };
}

function checkMoney(v: Violations, field: string, amount: Money | undefined, currency: string): number {
  if (!amount) {
    v.add(field, `is required (an amount in ${currency})`);
    return 0;
  }
  if (amount.currencyCode && amount.currencyCode !== currency) v.add(`${field}.currency_code`, `budgets are in the accounting currency ${currency}`);
  const nanos = fromMoneyParts(amount.units, amount.nanos);
  if (!(nanos > 0)) v.add(field, "must be more than zero");
  if (!Number.isSafeInteger(nanos) || nanos > MAX_BUDGET_NANOS) v.add(field, `is too large (at most ${MAX_BUDGET_NANOS / NANOS_PER_UNIT} ${currency} per period)`);
  return nanos;
}

function checkThreshold(v: Violations, field: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!(value > 0 && value <= 1)) v.add(field, "must be more than 0 and at most 1 (0.9 = 90% of the limit)");
  return value;
}

function checkEconomy(v: Violations, mappings: { model: string; economyModel: string }[]): EconomyMapping[] {
  return mappings.map((mapping, i) => {
    if (!mapping.model.trim()) v.add(`key.economy_models[${i}].model`, "is required");
    if (!mapping.economyModel.trim()) v.add(`key.economy_models[${i}].economy_model`, "is required");
    return { model: mapping.model.trim(), economyModel: mapping.economyModel.trim() };
  });
}

function checkExpiration(v: Violations, input: GatewayKey, now: number): number | undefined {
  switch (input.expiration.case) {
    case "expireTime": {
      const at = timestampMs(input.expiration.value);
      if (at <= now) v.add("key.expire_time", "must be in the future");
      return at;
    }
    case "ttl": {
      const ms = durationMs(input.expiration.value);
      if (ms <= 0) v.add("key.ttl", "must be positive");
      return now + ms;
    }
    default:
      return undefined;
  }
}

function periodName(period: BudgetPeriod): BudgetPeriodName | undefined {
  return (Object.keys(PERIODS) as BudgetPeriodName[]).find((name) => PERIODS[name] === period);
}

function actionName(action: BudgetExhaustedAction): ExhaustedActionName | undefined {
  return (Object.keys(ACTIONS) as ExhaustedActionName[]).find((name) => ACTIONS[name] === action);
}

function money(nanos: number, currency: string): Money {
  return create(MoneySchema, { currencyCode: currency, ...moneyParts(nanos) });
}

async function budgetStatus(deps: KeyAdminDeps, keyId: string, budget: KeyBudget): Promise<BudgetStatus> {
  const period = currentPeriod(budget.period);
  const spent = await deps.spend.spent(keyId, period);
  return create(BudgetStatusSchema, {
    spent: money(spent, deps.currency),
    limit: money(budget.limitNanos, deps.currency),
    periodStartTime: timestampFromMs(period.startMs),
    periodEndTime: timestampFromMs(period.endMs),
    economy: spent >= Math.floor(budget.limitNanos * budget.softThreshold),
    exhausted: spent >= budget.limitNanos,
  });
}

/** `keys/{key}` → `{key}`, or InvalidArgument. */
export function parseName(name: string, field: string): string {
  const match = /^keys\/([a-z][a-z0-9-]{2,62})$/.exec(name);
  if (!match) {
    const v = new Violations();
    v.add(field, `must be a key's resource name, "keys/{key}"; got "${name}"`);
    v.throwIfAny();
  }
  return match![1]!;
}

async function existing(store: KeyStore, name: string, field: string): Promise<KeyRecord> {
  const record = await store.get(parseName(name, field));
  if (!record) throw new ConnectError(`key "${name}" not found`, Code.NotFound);
  return record;
}

function encodePageToken(record: KeyRecord): string {
  return Buffer.from(JSON.stringify([record.createMs, record.id])).toString("base64url");
}

function decodePageToken(v: Violations, token: string): { createMs: number; id: string } | undefined {
  try {
    const [createMs, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as [number, string];
    if (typeof createMs === "number" && typeof id === "string") return { createMs, id };
  } catch {
    // reported below
  }
  v.add("page_token", "is not a token from a previous ListKeys response");
  return undefined;
}

/** `team = "payments" AND admin = true AND state = ACTIVE`: the small subset of AIP-160 keys need. */
function parseFilter(v: Violations, filter: string): { team?: string; admin?: boolean; state?: KeyState } {
  const result: { team?: string; admin?: boolean; state?: KeyState } = {};
  if (!filter.trim()) return result;
  for (const clause of filter.split(/\s+AND\s+/)) {
    const match = /^\s*(team|admin|state)\s*=\s*(?:"([^"]*)"|(\S+))\s*$/.exec(clause);
    if (!match) {
      v.add("filter", `cannot read "${clause.trim()}": use team = "…", admin = true|false or state = ACTIVE|EXPIRED|REVOKED, joined by AND`);
      continue;
    }
    const value = match[2] ?? match[3]!;
    if (match[1] === "team") result.team = value;
    else if (match[1] === "admin") {
      if (value !== "true" && value !== "false") v.add("filter", "admin must be true or false");
      result.admin = value === "true";
    } else {
      const state = value.toLowerCase();
      if (state !== "active" && state !== "expired" && state !== "revoked") v.add("filter", "state must be ACTIVE, EXPIRED or REVOKED");
      result.state = state as KeyState;
    }
  }
  return result;
}
