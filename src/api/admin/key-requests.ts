import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Money } from "../../../gen/ts/google/type/money_pb.js";
import {
  BudgetExhaustedAction,
  BudgetPeriod,
  BudgetSchema,
  GatewayKeySchema,
  type Budget,
  type CreateKeyRequest,
  type GatewayKey,
  type ListKeysRequest,
  type UpdateKeyRequest,
} from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import type { EconomyMapping, KeyBudget, KeyRecord } from "../../auth/key-policy.js";
import { nextUpdateMs, type KeyListQuery } from "../../auth/key-store.js";
import { hasControlCharacter } from "../../common/control-characters.js";
import { lookalikeSpaceProblem } from "../../common/lookalike-spaces.js";
import type { BudgetPeriodName, ExhaustedActionName, UsageConfig } from "../../config/usage-config.js";
import { MAX_BUDGET_NANOS } from "../../usage/budgets.js";
import type { EconomyPriceCheck } from "../../usage/economy-prices.js";
import { fromMoneyParts, NANOS_PER_UNIT } from "../../usage/pricing.js";
import { readUpdateMask } from "../aip/field-mask.js";
import type { FieldViolations } from "../aip/field-violations.js";
import { parseFilter } from "../aip/filter.js";
import { createPageTokenCodec, readPageSize } from "../aip/pagination.js";
import { actionName, periodName, stateName } from "./key-messages.js";
import { isKeyId } from "./resource-names.js";

/** What a key gets when a request leaves a setting out, and what budgets are counted in. */
export interface KeySettingRules {
  defaults: UsageConfig["keyDefaults"];
  budgets: UsageConfig["budgets"];
  /** The accounting currency budgets are in. */
  currency: string;
  /** Whether an economy model is cheaper than the model it stands in for. */
  economyPrices: EconomyPriceCheck;
}

const TOP_LEVEL = [
  "display_name",
  "team",
  "allowed_models",
  "admin",
  "admin_read_only",
  "requests_per_minute",
  "tokens_per_minute",
  "budget",
  "economy_models",
  "expire_time",
] as const;
const BUDGET_PARTS = ["budget.limit", "budget.period", "budget.soft_threshold", "budget.when_exhausted"] as const;
export type KeyPath = (typeof TOP_LEVEL)[number] | (typeof BUDGET_PARTS)[number];

/** The paths UpdateKey's mask may name (AIP-134). */
const UPDATABLE = { paths: [...TOP_LEVEL, ...BUDGET_PARTS], all: TOP_LEVEL, aliases: { ttl: "expire_time", expiration: "expire_time" } } as const;

/**
 * Keys are listed oldest first: a page ends at a creation time and, among
 * keys made in the same millisecond, an id; with the digest of the filter
 * the token was issued for (AIP-158: a token continues the listing it came
 * from, not another one).
 */
type KeyPosition = [createMs: number, id: string, filter: string];
const KEY_PAGES = createPageTokenCodec(
  "ListKeys",
  (value): value is KeyPosition =>
    Array.isArray(value) && value.length === 3 && Number.isSafeInteger(value[0]) && typeof value[1] === "string" && typeof value[2] === "string",
);
/**
 * A ListKeys page's bounds: its keys' count (page_size: 50 when unset, at
 * most 1,000) and their encoded size, past which a page ends early, so that
 * a page of the largest keys (about 13 KB each) is no 13 MB answer that
 * holds up every other call. Keys are read from the store a batch at a time.
 */
export const KEY_PAGE_BOUNDS = { default: 50, max: 1000, maxBytes: 1024 * 1024, readBatch: 100 } as const;

/**
 * Sizes an admin's inputs may have: names and teams are copied into every
 * ledger row, /metrics label and ListKeys page, and every glob is matched on
 * each call by the key, so none may grow without bound.
 */
const MAX_TEXT_CHARS = 128;
const MAX_MODEL_ENTRIES = 100;
/** google.type.Money's nanos: less than one unit either way. */
const MAX_MONEY_NANOS = NANOS_PER_UNIT - 1;
/** The latest expiry a key may have: far enough for any real key, and far from Timestamp's end (9999-12-31), past which no JSON answer can show the key. */
const MAX_KEY_LIFETIME_MS = 100 * 365.25 * 86_400_000;

const FILTER_FIELDS = ["team", "admin", "state"] as const;
const FILTER_USAGE = 'team = "…", admin = true|false, state = ACTIVE|EXPIRED|REVOKED or a quoted text to search for, "…"';

/** What a ListKeys filter selects, as the store takes it. */
type KeyFilter = Pick<KeyListQuery, "team" | "admin" | "state" | "search">;

/** CreateKey's key as a record to store, its digest and hint not yet set. */
export function readNewKey(req: CreateKeyRequest, keyId: string, rules: KeySettingRules, v: FieldViolations, now: number): KeyRecord {
  const input = req.key ?? create(GatewayKeySchema);
  if (!isKeyId(keyId)) v.add("key_id", "must be 3-63 lower-case letters, digits and hyphens, starting with a letter");
  if (keyId === "master") v.add("key_id", '"master" is the bootstrap key\'s id');
  checkReadOnly(v, input, input.admin);
  return {
    id: keyId,
    digest: "",
    keyHint: "",
    displayName: checkDisplayName(v, input.displayName),
    team: checkName(v, "key.team", input.team),
    admin: input.admin,
    adminReadOnly: input.adminReadOnly,
    allowedModels: checkModels(v, input.allowedModels),
    requestsPerMinute: checkLimit(v, "key.requests_per_minute", input.requestsPerMinute, rules.defaults.requestsPerMinute),
    tokensPerMinute: checkLimit(v, "key.tokens_per_minute", input.tokensPerMinute, rules.defaults.tokensPerMinute),
    budget: input.budget ? checkBudget(v, "key.budget", input.budget, rules) : defaultBudget(rules),
    economyModels: input.economyModels.length > 0 ? checkEconomy(v, input.economyModels, rules.economyPrices) : rules.defaults.economyModels,
    expireMs: checkExpiration(v, input, now),
    createMs: now,
    updateMs: now,
  };
}

/** `record` with UpdateKey's changes, and the paths changed: those of its mask, or without one the fields it sets. */
export function readKeyUpdate(
  req: UpdateKeyRequest,
  record: KeyRecord,
  rules: KeySettingRules,
  v: FieldViolations,
  now: number,
): { next: KeyRecord; paths: KeyPath[] } {
  const input = req.key ?? create(GatewayKeySchema);
  const next: KeyRecord = { ...record, updateMs: nextUpdateMs(record.updateMs, now) };
  const paths = [...new Set(readUpdateMask(req.updateMask, impliedPaths(input), UPDATABLE, v))];
  for (const path of paths) apply(v, path, input, next, rules, now);
  if (next.adminReadOnly) checkReadOnly(v, input, next.admin);
  // A key that loses the admin scope has nothing left to read-only.
  next.adminReadOnly = (next.adminReadOnly ?? false) && next.admin;
  return { next, paths };
}

/** A read-only admin key is an admin key that may only read: asking for one without `admin` is a mistake worth naming. */
function checkReadOnly(v: FieldViolations, input: GatewayKey, admin: boolean): void {
  if (input.adminReadOnly && !admin) v.add("key.admin_read_only", "needs admin: a read-only admin key is an admin key that may only read");
}

/** ListKeys' page and filter, as the store takes them. */
export function readKeyListing(req: ListKeysRequest, v: FieldViolations): { size: number; after: KeyListQuery["after"]; filter: KeyFilter } {
  const size = readPageSize(req.pageSize, KEY_PAGE_BOUNDS, v);
  const position = KEY_PAGES.decode(req.pageToken, v);
  const filter = readKeyFilter(req.filter, v);
  if (position && position[2] !== filterDigest(filter)) v.add("page_token", "was issued for another filter: list again from the first page with this one");
  return { size, after: position && { createMs: position[0], id: position[1] }, filter };
}

/** The next_page_token after a page that ends with `last`, listed with `filter`. */
export function nextKeyPageToken(last: KeyRecord, filter: KeyFilter): string {
  return KEY_PAGES.encode([last.createMs, last.id, filterDigest(filter)]);
}

/** A filter as a short digest of what it selects, so `team = "a" AND admin = true` and its reverse match, and a long team swells no token. */
function filterDigest(filter: KeyFilter): string {
  const selects = JSON.stringify([filter.team ?? null, filter.admin ?? null, filter.state ?? null, filter.search ?? null]);
  return createHash("sha256").update(selects).digest("base64url").slice(0, 16);
}

function readKeyFilter(filter: string, v: FieldViolations): KeyFilter {
  const result: KeyFilter = {};
  for (const { field, value } of parseFilter(filter, FILTER_FIELDS, FILTER_USAGE, v, { anyField: true })) {
    if (field === undefined) {
      // Longer than any name, id or team, or holding a control character none has, it could match nothing: a mistake worth naming.
      checkText(v, "filter", value, "a text to search for");
      if (result.search !== undefined) v.add("filter", "at most one text to search for");
      result.search = value;
    } else if (field === "team") result.team = checkText(v, "filter", value, "team");
    else if (field === "admin") {
      if (value !== "true" && value !== "false") v.add("filter", "admin must be true or false");
      result.admin = value === "true";
    } else {
      result.state = stateName(value);
      if (!result.state) v.add("filter", "state must be ACTIVE, EXPIRED or REVOKED");
    }
  }
  return result;
}

function apply(v: FieldViolations, path: KeyPath, input: GatewayKey, next: KeyRecord, rules: KeySettingRules, now: number): void {
  switch (path) {
    case "display_name":
      next.displayName = checkDisplayName(v, input.displayName);
      return;
    case "team":
      next.team = checkName(v, "key.team", input.team);
      return;
    case "allowed_models":
      next.allowedModels = checkModels(v, input.allowedModels);
      return;
    case "admin":
      next.admin = input.admin;
      return;
    case "admin_read_only":
      next.adminReadOnly = input.adminReadOnly;
      return;
    case "requests_per_minute":
      next.requestsPerMinute = checkLimit(v, "key.requests_per_minute", input.requestsPerMinute, 0);
      return;
    case "tokens_per_minute":
      next.tokensPerMinute = checkLimit(v, "key.tokens_per_minute", input.tokensPerMinute, 0);
      return;
    case "budget":
      next.budget = input.budget ? checkBudget(v, "key.budget", input.budget, rules) : undefined;
      return;
    case "economy_models":
      next.economyModels = checkEconomy(v, input.economyModels, rules.economyPrices);
      return;
    case "expire_time":
      next.expireMs = checkExpiration(v, input, now);
      return;
    default:
      next.budget = mergeBudget(v, path, input.budget, next.budget, rules);
  }
}

/** AIP-134: without a mask, the fields the request sets (for CreateKey's log line too). */
export function impliedPaths(input: GatewayKey): KeyPath[] {
  const paths: KeyPath[] = [];
  if (input.displayName) paths.push("display_name");
  if (input.team) paths.push("team");
  if (input.allowedModels.length > 0) paths.push("allowed_models");
  if (input.admin) paths.push("admin");
  if (input.adminReadOnly) paths.push("admin_read_only");
  if (input.requestsPerMinute !== undefined) paths.push("requests_per_minute");
  if (input.tokensPerMinute !== undefined) paths.push("tokens_per_minute");
  if (input.budget) paths.push("budget");
  if (input.economyModels.length > 0) paths.push("economy_models");
  if (input.expiration.case) paths.push("expire_time");
  return paths;
}

function defaultBudget(rules: KeySettingRules): KeyBudget | undefined {
  if (rules.defaults.budget === undefined) return undefined;
  return {
    limitNanos: Math.round(rules.defaults.budget * NANOS_PER_UNIT),
    period: rules.budgets.period,
    softThreshold: rules.budgets.softThreshold,
    whenExhausted: rules.budgets.whenExhausted,
  };
}

function mergeBudget(
  v: FieldViolations,
  path: (typeof BUDGET_PARTS)[number],
  input: Budget | undefined,
  current: KeyBudget | undefined,
  rules: KeySettingRules,
): KeyBudget | undefined {
  if (!current && path !== "budget.limit") {
    v.add("update_mask", `${path}: the key has no budget; set budget.limit (or budget) first`);
    return current;
  }
  const base: KeyBudget = current ?? { limitNanos: 0, period: rules.budgets.period, softThreshold: rules.budgets.softThreshold, whenExhausted: rules.budgets.whenExhausted };
  const given = input ?? create(BudgetSchema);
  switch (path) {
    case "budget.limit":
      return { ...base, limitNanos: checkMoney(v, "key.budget.limit", given.limit, rules.currency) };
    case "budget.period":
      return { ...base, period: checkPeriod(v, "key.budget.period", given.period, rules.budgets.period) };
    case "budget.soft_threshold":
      return { ...base, softThreshold: checkThreshold(v, "key.budget.soft_threshold", given.softThreshold) ?? rules.budgets.softThreshold };
    case "budget.when_exhausted":
      return { ...base, whenExhausted: checkAction(v, "key.budget.when_exhausted", given.whenExhausted, rules.budgets.whenExhausted) };
  }
}

function checkDisplayName(v: FieldViolations, name: string): string {
  const trimmed = checkName(v, "key.display_name", name);
  if (!trimmed) v.add("key.display_name", "is required");
  return trimmed;
}

/** A short line of text, trimmed: at most MAX_TEXT_CHARS characters and no control characters. `part` names it within a field that holds more (a filter's "team"). */
function checkText(v: FieldViolations, field: string, text: string, part?: string): string {
  const trimmed = text.trim();
  const what = part ? `${part} ` : "";
  if (trimmed.length > MAX_TEXT_CHARS) v.add(field, `${what}must be at most ${MAX_TEXT_CHARS} characters`);
  if (hasControlCharacter(trimmed)) v.add(field, `${what}must not contain control characters`);
  return trimmed;
}

/**
 * A name written to a key (its display name, team, a scope's glob, an economy mapping's models): checkText's rules,
 * and no look-alike space inside (the ends are trimmed), so two keys never read the same in the console while the
 * gateway tells them apart. A filter may still name a value stored before this rule.
 */
function checkName(v: FieldViolations, field: string, text: string): string {
  const trimmed = checkText(v, field, text);
  const lookalike = lookalikeSpaceProblem(trimmed);
  if (lookalike) v.add(field, lookalike);
  return trimmed;
}

/** A list of model entries is refused whole when too long: checking each of 400,000 globs would only add noise. */
function checkCount(v: FieldViolations, field: string, count: number): boolean {
  if (count <= MAX_MODEL_ENTRIES) return true;
  v.add(field, `must have at most ${MAX_MODEL_ENTRIES} entries`);
  return false;
}

function checkModels(v: FieldViolations, models: string[]): string[] {
  if (!checkCount(v, "key.allowed_models", models.length)) return [];
  return models.map((model, i) => {
    const trimmed = checkName(v, `key.allowed_models[${i}]`, model);
    if (!trimmed) v.add(`key.allowed_models[${i}]`, "must not be empty");
    return trimmed;
  });
}

function checkLimit(v: FieldViolations, field: string, value: number | bigint | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) v.add(field, "must be 0 (unlimited) or a positive whole number");
  return n;
}

function checkBudget(v: FieldViolations, field: string, budget: Budget, rules: KeySettingRules): KeyBudget {
  return {
    limitNanos: checkMoney(v, `${field}.limit`, budget.limit, rules.currency),
    period: checkPeriod(v, `${field}.period`, budget.period, rules.budgets.period),
    softThreshold: checkThreshold(v, `${field}.soft_threshold`, budget.softThreshold) ?? rules.budgets.softThreshold,
    whenExhausted: checkAction(v, `${field}.when_exhausted`, budget.whenExhausted, rules.budgets.whenExhausted),
  };
}

/** UNSPECIFIED is the configured default; a number the contract does not know is a mistake, not the default. */
function checkPeriod(v: FieldViolations, field: string, period: BudgetPeriod, fallback: BudgetPeriodName): BudgetPeriodName {
  if (period === BudgetPeriod.UNSPECIFIED) return fallback;
  const name = periodName(period);
  if (!name) v.add(field, `must be DAY, WEEK or MONTH (or unset for the default), got ${period}`);
  return name ?? fallback;
}

function checkAction(v: FieldViolations, field: string, action: BudgetExhaustedAction, fallback: ExhaustedActionName): ExhaustedActionName {
  if (action === BudgetExhaustedAction.UNSPECIFIED) return fallback;
  const name = actionName(action);
  if (!name) v.add(field, `must be REFUSE or ECONOMY_ONLY (or unset for the default), got ${action}`);
  return name ?? fallback;
}

function checkMoney(v: FieldViolations, field: string, amount: Money | undefined, currency: string): number {
  if (!amount) {
    v.add(field, `is required (an amount in ${currency})`);
    return 0;
  }
  if (amount.currencyCode && amount.currencyCode !== currency) v.add(`${field}.currency_code`, `budgets are in the accounting currency ${currency}`);
  // google.type.Money: nanos from -999,999,999 to +999,999,999, of the same sign as units when both are set.
  if (!(Math.abs(amount.nanos) <= MAX_MONEY_NANOS)) v.add(`${field}.nanos`, `must be from -${MAX_MONEY_NANOS} to ${MAX_MONEY_NANOS}, got ${amount.nanos}`);
  else if ((amount.units > 0n && amount.nanos < 0) || (amount.units < 0n && amount.nanos > 0)) v.add(field, "units and nanos must have the same sign (google.type.Money)");
  const nanos = fromMoneyParts(amount.units, amount.nanos);
  if (!(nanos > 0)) v.add(field, "must be more than zero");
  if (!Number.isSafeInteger(nanos) || nanos > MAX_BUDGET_NANOS) v.add(field, `is too large (at most ${MAX_BUDGET_NANOS / NANOS_PER_UNIT} ${currency} per period)`);
  return nanos;
}

function checkThreshold(v: FieldViolations, field: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!(value > 0 && value <= 1)) v.add(field, "must be more than 0 and at most 1 (0.9 = 90% of the limit)");
  return value;
}

/** Mappings of whole, short names, each to a model that costs less where both prices are known. */
function checkEconomy(v: FieldViolations, mappings: { model: string; economyModel: string }[], prices: EconomyPriceCheck): EconomyMapping[] {
  if (!checkCount(v, "key.economy_models", mappings.length)) return [];
  return mappings.map((mapping, i) => {
    const model = checkName(v, `key.economy_models[${i}].model`, mapping.model);
    const economyModel = checkName(v, `key.economy_models[${i}].economy_model`, mapping.economyModel);
    if (!model) v.add(`key.economy_models[${i}].model`, "is required");
    if (!economyModel) v.add(`key.economy_models[${i}].economy_model`, "is required");
    const dearer = model && economyModel ? prices.notCheaper(model, economyModel) : undefined;
    if (dearer !== undefined) v.add(`key.economy_models[${i}].economy_model`, dearer);
    return { model, economyModel };
  });
}

function checkExpiration(v: FieldViolations, input: GatewayKey, now: number): number | undefined {
  switch (input.expiration.case) {
    case "expireTime": {
      const at = timestampMs(input.expiration.value);
      if (at <= now) v.add("key.expire_time", "must be in the future");
      if (at > now + MAX_KEY_LIFETIME_MS) v.add("key.expire_time", "must be at most 100 years from now");
      return at;
    }
    case "ttl": {
      const ms = durationMs(input.expiration.value);
      if (ms <= 0) v.add("key.ttl", "must be positive");
      if (ms > MAX_KEY_LIFETIME_MS) v.add("key.ttl", "must be at most 100 years");
      return now + ms;
    }
    default:
      return undefined;
  }
}
