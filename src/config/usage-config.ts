import { join } from "node:path";
import { z } from "zod";
import { parseRedisUrl, redisUrlFromEnv, RedisUrlError } from "../redis/redis-url.js";
import { ConfigError } from "./config-error.js";
import { timerMs } from "./durations.js";

// Configuration of gateway keys, limits, budgets, pricing and the usage store.
// Connection strings stay in the environment (DATABASE_URL, REDIS_URL): they
// may carry passwords, and the config object holds no secret.

export type BudgetPeriodName = "day" | "week" | "month";
export type ExhaustedActionName = "refuse" | "economy_only";

export interface ModelPrice {
  /** Per million prompt tokens. */
  input: number;
  /** Per million completion tokens. */
  output: number;
  /** Per million prompt tokens read from the vendor's prompt cache; `input` when unset. */
  cachedInput?: number;
  /** Per million prompt tokens written to the vendor's prompt cache (Anthropic: for five minutes); `input` when unset. */
  cacheWrite?: number;
  /** Per million prompt tokens written to it for an hour; `cacheWrite` when unset. */
  cacheWriteHour?: number;
  /** Per million reasoning tokens, where billed apart from other output; `output` when unset. */
  reasoning?: number;
  /** ISO 4217 code of the three prices. */
  currency: string;
}

/** Where the store is: a SQLite file under the data directory, or Postgres from DATABASE_URL. */
export type StoreLocation = { kind: "sqlite"; file: string } | { kind: "postgres" };

export interface UsageConfig {
  /**
   * SQLite file under the data directory, or Postgres from DATABASE_URL.
   * `queryTimeoutMs`: how long a store read on a call's path (a key lookup)
   * waits before the call is refused Unavailable, and on Postgres how long a
   * connection or statement may go unanswered before the pool drops it.
   */
  store: StoreLocation & { queryTimeoutMs: number };
  /** Shared limits, spend counters and revocations when REDIS_URL is set. */
  redis: { enabled: boolean; prefix: string; onFailure: "open" | "closed" };
  keyDefaults: {
    requestsPerMinute: number;
    tokensPerMinute: number;
    /** A budget limit in the accounting currency for keys created without one; undefined: none. */
    budget?: number;
    economyModels: { model: string; economyModel: string }[];
  };
  /** Keys at most, live or retired within keyRetirement.countedMs, so that no admin key can fill the shared store; 0: no bound. */
  keyQuotas: {
    /** In one team, whoever made them (the master key excepted). */
    perTeam: number;
    /** Made by one admin key (not the master key). */
    perAdminKey: number;
    /** In the whole gateway, the master key's too. */
    total: number;
  };
  keyRetirement: KeyRetirement;
  /**
   * The AdminService writes (CreateKey, UpdateKey, PurgeCache, …) an admin
   * key without a requests_per_minute of its own may make, per instance:
   * `perSecond` earned back evenly, up to `burst` at once. 0: no bound. The
   * master key is not held to it.
   */
  adminWrites: { perSecond: number; burst: number };
  budgets: { period: BudgetPeriodName; softThreshold: number; whenExhausted: ExhaustedActionName };
  pricing: {
    /** The ledger's and budgets' currency. */
    currency: string;
    /** Units of the accounting currency per unit of another currency. */
    exchangeRates: Record<string, number>;
    /** Overrides of the model catalogue's prices, by model name, glob or provider/model (prices only; `models:` rows say more). */
    models: Record<string, ModelPrice>;
  };
  /** `journalDir`: where each row is journaled before its answer is sent (see ledger-journal.ts). */
  ledger: { flushIntervalMs: number; batchSize: number; journalDir: string };
}

/**
 * What becomes of a key once revoked or expired (retired): it counts against
 * keyQuotas for `countedMs` more, and its row is deleted `keptMs` after it
 * retired. So keys made and revoked in a loop (or made with a 1-second ttl)
 * are bounded as live keys are: one bound's keys have at most about
 * limit × (1 + keptMs / countedMs) rows, however fast they are made.
 */
export interface KeyRetirement {
  countedMs: number;
  keptMs: number;
}

const currency = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD");
const price = z.number().min(0);

/** The YAML file's sections for keys and usage (merged into the file schema). */
export const usageFileFields = {
  store: z
    .strictObject({
      query_timeout_ms: z.number().int().min(1).max(600_000).optional(),
    })
    .optional(),
  redis: z
    .strictObject({
      prefix: z.string().min(1).optional(),
      on_failure: z.enum(["open", "closed"]).optional(),
    })
    .optional(),
  keys: z
    .strictObject({
      defaults: z
        .strictObject({
          requests_per_minute: z.number().int().min(0).optional(),
          tokens_per_minute: z.number().int().min(0).optional(),
          budget: z.number().positive().optional(),
          economy_models: z.record(z.string().min(1), z.string().min(1)).optional(),
        })
        .optional(),
      quotas: z
        .strictObject({
          per_team: z.number().int().min(0).optional(),
          per_admin_key: z.number().int().min(0).optional(),
          total: z.number().int().min(0).optional(),
          count_retired_hours: z.number().positive().max(876_000).optional(),
        })
        .optional(),
      keep_retired_days: z.number().positive().max(36_500).optional(),
      admin_writes: z
        .strictObject({
          per_second: z.number().min(0).optional(),
          burst: z.number().int().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  budgets: z
    .strictObject({
      period: z.enum(["day", "week", "month"]).optional(),
      soft_threshold: z.number().gt(0).max(1).optional(),
      when_exhausted: z.enum(["refuse", "economy_only"]).optional(),
    })
    .optional(),
  pricing: z
    .strictObject({
      currency: currency.optional(),
      exchange_rates: z.record(currency, z.number().positive()).optional(),
      models: z
        .record(
          z.string().min(1),
          z.strictObject({
            input: price,
            output: price,
            cached_input: price.optional(),
            cache_write: price.optional(),
            cache_write_hour: price.optional(),
            reasoning: price.optional(),
            currency: currency.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  ledger: z
    .strictObject({
      flush_interval_ms: timerMs.positive().optional(),
      batch_size: z.number().int().positive().max(10_000).optional(),
      journal_dir: z.string().min(1).optional(),
    })
    .optional(),
};

const usageSection = z.object(usageFileFields);
type UsageFile = z.infer<typeof usageSection>;

export function buildUsageConfig(file: UsageFile, env: NodeJS.ProcessEnv, source: string, dataDir: string): UsageConfig {
  const databaseUrl = checkedDatabaseUrl(env);
  const redisUrl = checkedRedisUrl(env);
  const onFailure = env.REDIS_FAILURE_POLICY ?? file.redis?.on_failure ?? "open";
  if (onFailure !== "open" && onFailure !== "closed") throw new ConfigError("environment", "REDIS_FAILURE_POLICY", 'must be "open" or "closed"');

  const pricingCurrency = file.pricing?.currency ?? "USD";
  // The shipped rates are to USD; another accounting currency needs its own.
  const exchangeRates = { ...(pricingCurrency === "USD" ? DEFAULT_EXCHANGE_RATES : {}), ...file.pricing?.exchange_rates, [pricingCurrency]: 1 };
  const models: Record<string, ModelPrice> = {};
  for (const [model, declared] of Object.entries(file.pricing?.models ?? {})) {
    const priceCurrency = declared.currency ?? pricingCurrency;
    if (exchangeRates[priceCurrency] === undefined) {
      throw new ConfigError(source, `pricing.models.${model}.currency`, `no exchange rate from ${priceCurrency} to ${pricingCurrency}: add pricing.exchange_rates.${priceCurrency}`);
    }
    models[model] = {
      input: declared.input,
      output: declared.output,
      cachedInput: declared.cached_input,
      cacheWrite: declared.cache_write,
      cacheWriteHour: declared.cache_write_hour,
      reasoning: declared.reasoning,
      currency: priceCurrency,
    };
  }

  return {
    store: {
      ...(databaseUrl ? { kind: "postgres" as const } : { kind: "sqlite" as const, file: join(dataDir, "switchboard.db") }),
      queryTimeoutMs: file.store?.query_timeout_ms ?? DEFAULT_STORE_QUERY_TIMEOUT_MS,
    },
    redis: { enabled: Boolean(redisUrl), prefix: checkedRedisPrefix(env.REDIS_PREFIX, file.redis?.prefix, source), onFailure },
    keyDefaults: {
      requestsPerMinute: file.keys?.defaults?.requests_per_minute ?? 0,
      tokensPerMinute: file.keys?.defaults?.tokens_per_minute ?? 0,
      budget: file.keys?.defaults?.budget,
      economyModels: Object.entries(file.keys?.defaults?.economy_models ?? {}).map(([model, economyModel]) => ({ model, economyModel })),
    },
    keyQuotas: {
      perTeam: file.keys?.quotas?.per_team ?? DEFAULT_KEY_QUOTAS.perTeam,
      perAdminKey: file.keys?.quotas?.per_admin_key ?? DEFAULT_KEY_QUOTAS.perAdminKey,
      total: file.keys?.quotas?.total ?? DEFAULT_KEY_QUOTAS.total,
    },
    keyRetirement: {
      countedMs: (file.keys?.quotas?.count_retired_hours ?? DEFAULT_KEY_RETIREMENT.countedMs / 3_600_000) * 3_600_000,
      keptMs: (file.keys?.keep_retired_days ?? DEFAULT_KEY_RETIREMENT.keptMs / 86_400_000) * 86_400_000,
    },
    adminWrites: {
      perSecond: file.keys?.admin_writes?.per_second ?? DEFAULT_ADMIN_WRITES.perSecond,
      burst: file.keys?.admin_writes?.burst ?? DEFAULT_ADMIN_WRITES.burst,
    },
    budgets: {
      period: file.budgets?.period ?? "month",
      softThreshold: file.budgets?.soft_threshold ?? 0.9,
      whenExhausted: file.budgets?.when_exhausted ?? "refuse",
    },
    pricing: { currency: pricingCurrency, exchangeRates, models },
    ledger: {
      flushIntervalMs: file.ledger?.flush_interval_ms ?? 200,
      batchSize: file.ledger?.batch_size ?? 500,
      journalDir: file.ledger?.journal_dir ?? join(dataDir, "ledger-journal"),
    },
  };
}

/**
 * DATABASE_URL, checked at start-up before anything connects. A password holding
 * an unencoded / ? # or @ is split by the URL parser: a part of it is read as the
 * host, looked up in DNS and printed in the connection error. Refused here as
 * REDIS_URL is, saying what to encode and quoting nothing of the URL. A URL the
 * Postgres client cannot read at all is refused when the store opens (open-store.ts).
 */
function checkedDatabaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_URL;
  if (!url) return undefined;
  const refuse = (problem: string) => new ConfigError("environment", "DATABASE_URL", problem);
  if (!/^postgres(ql)?:\/\//.test(url)) throw refuse("must be a postgres:// URL (unset it to use the embedded SQLite file)");
  const rest = url.slice(url.indexOf("//") + 2);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  // An @ past the host means a user or password cut short by a / ? or #: what was read as the host is part of it.
  if (end !== -1 && rest.slice(end).includes("@")) {
    throw refuse("has a / ? # or @ in its user or password (an @ after the host): percent-encode them (%2F, %3F, %23, %40)");
  }
  if (authority.indexOf("@") !== authority.lastIndexOf("@")) throw refuse("has an unencoded @ in its user or password: write it as %40");
  return url;
}

/** REDIS_URL or REDIS_CLUSTER_NODES, checked at start-up (shapes: src/redis/redis-url.ts); undefined when neither is set. */
function checkedRedisUrl(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const url = redisUrlFromEnv(env);
    if (url) parseRedisUrl(url, env.REDIS_CLUSTER_NODES ? "REDIS_CLUSTER_NODES" : "REDIS_URL");
    return url;
  } catch (err) {
    if (err instanceof RedisUrlError) throw new ConfigError("environment", err.variable, err.message);
    throw err;
  }
}

/**
 * Braces in the prefix would make its `{…}` the hash tag of every key, which
 * puts all keys in one cluster slot (or, as `{}`, splits a script's keys
 * across slots): the keys' own tags must be their first.
 */
function checkedRedisPrefix(fromEnv: string | undefined, fromFile: string | undefined, source: string): string {
  const prefix = fromEnv ?? fromFile ?? "switchboard:";
  if (/[{}]/.test(prefix)) {
    throw new ConfigError(fromEnv !== undefined ? "environment" : source, fromEnv !== undefined ? "REDIS_PREFIX" : "redis.prefix", "must not contain { or }: keys carry their own hash tags for Redis Cluster");
  }
  return prefix;
}

/**
 * Far more keys than a team or an admin key uses in earnest, far fewer than
 * fill a disk: a key takes up to about 13 KB (100 globs of 128 characters).
 */
export const DEFAULT_KEY_QUOTAS: Readonly<UsageConfig["keyQuotas"]> = { perTeam: 1_000, perAdminKey: 1_000, total: 100_000 };

/**
 * A revoked key frees its place a day later, so a team at its quota waits a
 * day at most; a month's record of revoked and expired keys stays listed
 * (ListKeys `state = REVOKED`). Together: at most 31 rows per place.
 */
export const DEFAULT_KEY_RETIREMENT: Readonly<KeyRetirement> = { countedMs: 86_400_000, keptMs: 30 * 86_400_000 };

/**
 * Far longer than a key lookup takes on a live store (a millisecond or so), far
 * shorter than a proxy's read timeout: a hung store refuses calls, it does not hold them.
 */
export const DEFAULT_STORE_QUERY_TIMEOUT_MS = 5_000;

/** More than a person or a script managing keys needs, and an admin key makes at most 36,000 writes an hour (the audit made 770,000). */
export const DEFAULT_ADMIN_WRITES: Readonly<UsageConfig["adminWrites"]> = { perSecond: 10, burst: 50 };

/**
 * Rough rates to USD for the currencies the shipped price table uses (Chinese
 * vendors publish prices in CNY). Override them in `pricing.exchange_rates`.
 */
export const DEFAULT_EXCHANGE_RATES: Readonly<Record<string, number>> = { USD: 1, CNY: 0.14 };
