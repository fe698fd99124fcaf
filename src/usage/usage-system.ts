import { join } from "node:path";
import { SHARED_STORE_NEEDS_PEPPER, usesFilePepperOnSharedStore } from "../auth/bootstrap.js";
import type { KeyHasher } from "../auth/gateway-key.js";
import type { Catalogue } from "../catalogue/catalogue.js";
import { KeyStore } from "../auth/key-store.js";
import { StoredKeyDirectory } from "../auth/stored-key-directory.js";
import { ConfigError } from "../config/config-error.js";
import type { UsageConfig } from "../config/usage-config.js";
import type { Router } from "../gateway/router.js";
import { MemoryRateLimiter, type RateLimiter } from "../limits/rate-limiter.js";
import { RedisRateLimiter } from "../limits/redis-rate-limiter.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { FleetLink } from "../redis/fleet-link.js";
import { FleetSeal } from "../redis/fleet-seal.js";
import { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
import { redisUrlFromEnv } from "../redis/redis-url.js";
import { dependencyCause } from "../common/dependency-cause.js";
import type { HealthState } from "../common/health-state.js";
import { MemorySpendCounter, type SpendCounter } from "./budgets.js";
import { checkEconomyDefaults, EconomyPrices } from "./economy-prices.js";
import { KeptSettlementJournal } from "./kept-settlement-journal.js";
import { RedisSpendCounter } from "./redis-spend-counter.js";
import { LedgerJournal } from "./ledger-journal.js";
import { LedgerStore } from "./ledger-store.js";
import { PriceTable } from "./pricing.js";
import type { SqlDatabase } from "../store/sql.js";
import { StoreHealth } from "../store/store-health.js";
import { chargeInterrupted, UsageHooks } from "./usage-hooks.js";
import { UsageLedger } from "./usage-ledger.js";
import { ledgerSpendSeed, UnstoredSpend } from "./unstored-spend.js";

export interface UsageSystemDeps {
  config: UsageConfig;
  /** The migrated store (see open-store.ts); its owner closes it. */
  db: SqlDatabase;
  env: NodeJS.ProcessEnv;
  hasher: KeyHasher;
  router: Router;
  metrics: GatewayMetrics;
  logger: Logger;
  health: HealthState;
  /** The model catalogue, whose prices the price table reads. */
  catalogue: Catalogue;
}

/** Gateway keys, limits, budgets and the ledger, built from config; the app wires its parts in. */
export interface UsageSystem {
  /** The pipeline's admit/settle hooks, and the request every call takes before it is read (UsageHooks.takeRequest). */
  hooks: UsageHooks;
  /** Stored gateway keys, for the authenticator. */
  keys: StoredKeyDirectory;
  /** Stored gateway keys, for the AdminService. */
  keyStore: KeyStore;
  /** Tells every instance (this one included) that a key changed, so caches drop it. */
  keyChanged(keyId: string): Promise<void>;
  /** What each key spent in its budget period. */
  spend: SpendCounter;
  /** The ledger's rows, which usage reports sum. */
  ledgerStore: LedgerStore;
  /** The accounting currency of prices, budgets and reports. */
  currency: string;
  /** Whether an economy model is cheaper than the model it stands in for, for the AdminService. */
  economyPrices: EconomyPrices;
  ledger: UsageLedger;
  /** The Redis link when REDIS_URL is set (limits, the response cache). */
  redis: RedisLink | undefined;
  /** Sealed pub/sub between the instances on that Redis, for other fleet-wide news. */
  fleet: FleetLink | undefined;
  /** Writes the ledger's last rows and closes its connections (not the store's); call after the server drained. */
  close(): Promise<void>;
}

const REVOCATIONS = "keys:changed";

/** Connects Redis when configured and builds every part on the given store. */
export async function createUsageSystem(deps: UsageSystemDeps): Promise<UsageSystem> {
  const { config, env, logger, metrics, health, db } = deps;
  const prices = new PriceTable(config.pricing, deps.catalogue, logger);
  // Before anything opens: default economy models that are not cheaper stop the start.
  const economyPrices = new EconomyPrices(deps.router, prices);
  checkEconomyDefaults(config.keyDefaults.economyModels, economyPrices);
  const keyStore = new KeyStore(db, config.keyRetirement);
  await checkPepper(keyStore, deps.hasher, db.dialect, env);
  const ledgerStore = new LedgerStore(db);
  // Opened first: a journal that cannot be written stops the start before anything else is running.
  // A journal that cannot be written (a full disk) takes away the crash safety of every row: health says so.
  const journalHealth = (writable: boolean, error?: string) =>
    health.setDependency("ledger_journal", { ok: writable, detail: `cannot be written (${dependencyCause(error ?? "")}); calls go on, but a crash would lose their usage rows not yet stored`, required: false });
  journalHealth(true);
  const journal = LedgerJournal.open(config.ledger.journalDir, { logger, onStateChange: journalHealth });
  // A key's spend is rebuilt from the ledger: the store's rows, and those not stored yet (this run's, and those a run now gone left in the journal).
  const unstored = new UnstoredSpend({ turnWaitMs: config.store.queryTimeoutMs });
  const seed = ledgerSpendSeed(ledgerStore, unstored);
  // Health tells whether the store answers reads in time and takes writes; calls go on meanwhile (their rows wait in the journal and in memory).
  const storeHealth = new StoreHealth(health, db.dialect);
  const keys = new StoredKeyDirectory(keyStore, { logger, readTimeoutMs: config.store.queryTimeoutMs, onStoreState: storeHealth.reads });
  // A changed key (its budget, a revocation: here, or news from another instance) must not keep showing its old budget.
  keys.onForget((keyId) => metrics.forgetBudget(keyId));
  await keys.start();

  let redis: RedisLink | undefined;
  let fleet: FleetLink | undefined;
  let limiter: RateLimiter;
  let spend: SpendCounter;
  if (config.redis.enabled) {
    const policy = config.redis.onFailure;
    const consequence = `${policy === "open" ? "limits and budgets are counted per instance" : "calls with limits or budgets are refused"} (policy: fail ${policy})`;
    // Loaded only here: the Redis client weighs about 20 MB of memory that a gateway without Redis never needs.
    const { RedisLink } = await import("../redis/redis-link.js");
    redis = new RedisLink({
      // REDIS_URL, or REDIS_CLUSTER_NODES as a cluster URL (both checked with the configuration).
      url: redisUrlFromEnv(env)!,
      prefix: config.redis.prefix,
      logger,
      whileDown: consequence,
      onStateChange: (up, reason, unservedSlots) => {
        metrics.redisUp.set(up ? 1 : 0);
        // Never required for readiness: Redis is every instance's, so its outage would take them all out of the balancer at once,
        // though each still serves keys without limits or budgets (docs/operations.md).
        const detail = unservedSlots ? `cluster slots ${unservedSlots} not served; for keys in them, ${consequence}` : `unreachable (${dependencyCause(reason)}); ${consequence}`;
        health.setDependency("redis", { ok: up, detail, required: false });
      },
    });
    await redis.connect();
    const errors = new RedisErrors(metrics.redisErrors, logger);
    limiter = new RedisRateLimiter(redis, policy, errors);
    spend = new RedisSpendCounter(redis, seed, policy, errors, {
      storedRowKeys: (rowKeys) => ledgerStore.storedRowKeys(rowKeys),
      // Rows still in this instance's queue: a counter another instance rebuilds cannot read them.
      unstored,
      // Settlements kept while Redis fails outlive a restart (a directory of their own: the ledger's journal never reads it).
      journal: KeptSettlementJournal.open(join(config.ledger.journalDir, "kept-spend"), logger),
    });
    fleet = new FleetLink(redis, FleetSeal.fromPepper(deps.hasher), metrics.fleetMessagesDropped, logger);
    // News of a changed key evicts it at once; a reconnection may have missed some, which the store's change log has.
    await fleet.subscribe(REVOCATIONS, (keyId) => keys.evict(keyId), () => void keys.catchUp());
  } else {
    limiter = new MemoryRateLimiter();
    spend = new MemorySpendCounter(seed);
  }

  // A budget changed on any instance (news through Redis, or the store's change log) must not be judged here on a figure
  // kept from before it: this process's figures of the key are rebuilt from the ledger by its next call. Any change of
  // the key drops them, as the news does not say what changed; the shared counter in Redis is dropped once, by the admin call.
  keys.onForget((keyId) => {
    spend.forgetHere(keyId).catch((err: Error) => logger.warn({ key: keyId, error: err.message }, "could not drop a changed key's spend figures"));
  });

  const ledger = new UsageLedger(ledgerStore, {
    flushIntervalMs: config.ledger.flushIntervalMs,
    batchSize: config.ledger.batchSize,
    journal,
    onStoreState: storeHealth.writes,
    // Calls a killed run left in flight count towards their keys' spend once, as their rows are replayed.
    chargeInterrupted: (row, mark) => chargeInterrupted(spend, row, mark),
    unstored,
    logger,
    metrics,
  });
  // Before the first call: rows a killed run left count towards spend rebuilt from the ledger.
  await ledger.recover();
  const hooks = new UsageHooks({ router: deps.router, limiter, spend, prices, ledger, metrics, logger });

  const keyChanged = async (keyId: string): Promise<void> => {
    keys.evict(keyId);
    // Other instances hear it now through Redis, or within a poll interval from the store.
    await fleet?.publish(REVOCATIONS, keyId).catch((err: Error) => {
      // While the link is down its own reason says why (ioredis' error then speaks of its offline queue).
      const redisSays = redis?.isUp === false ? `unreachable: ${dependencyCause(redis.reason)}` : err.message;
      logger.warn({ key: keyId, redis: redisSays }, "could not announce a key change on Redis: the other instances still learn of it from the store's change log, which they poll");
    });
  };

  return {
    hooks,
    keys,
    ledger,
    redis,
    fleet,
    keyStore,
    keyChanged,
    spend,
    ledgerStore,
    currency: prices.currency,
    economyPrices,
    async close() {
      await ledger.close();
      keys.close();
      limiter.close();
      spend.close();
      await redis?.close();
    },
  };
}

/**
 * Instances sharing a store must hash keys under one pepper. A pepper file in
 * the data directory is kept on Postgres only where the database already
 * holds keys hashed under it (a fleet started before SWITCHBOARD_PEPPER was
 * required; bootstrap.ts refuses the rest, and says how to move it): it must
 * never become a database's pepper, since the data directory may be lost.
 */
async function checkPepper(keyStore: KeyStore, hasher: KeyHasher, dialect: SqlDatabase["dialect"], env: NodeJS.ProcessEnv): Promise<void> {
  const check = hasher.digest("switchboard pepper check").toString("hex");
  if (usesFilePepperOnSharedStore(env)) {
    if (await keyStore.checkPepper(check, { record: false })) return;
    throw new ConfigError("environment", "SWITCHBOARD_PEPPER", `${SHARED_STORE_NEEDS_PEPPER}; the pepper file in the data directory is not the one this database's gateway keys were hashed under`);
  }
  if (!(await keyStore.checkPepper(check))) {
    throw new ConfigError(
      "SWITCHBOARD_PEPPER",
      "",
      `the ${dialect} store's gateway keys were hashed under another pepper: every instance sharing a store needs the same SWITCHBOARD_PEPPER`,
    );
  }
}
