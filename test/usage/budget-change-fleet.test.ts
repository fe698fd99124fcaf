// A key's budget changed by an admin: every instance judges its next call on
// spend rebuilt from the ledger, and the ledger counts the calls whose rows
// still wait for the next batch.
// - Without Redis, each instance counts in its own process: the others drop
//   their figure on news of the change (the store's change log), not only the
//   one the admin call reached.
// - With Redis, the counter is shared and dropped once, by the admin call:
//   the news an instance hears (its own change, again, from the change log)
//   must not drop it again, or the spend settled into its rebuild is lost.
// - A key given its first budget counts the calls it made just before, whose
//   rows the ledger has not written yet.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { RedisErrors } from "../../src/redis/redis-errors.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, MemorySpendCounter, type BudgetAsk } from "../../src/usage/budgets.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import type { TestGateway } from "../support/gateway.js";
import { failure } from "../support/failure.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
/** A prompt of 300 words: about $600 at $1 a token (TEST_PRICING), past a $100 budget in one call. */
const LONG = Array.from({ length: 300 }, () => "word").join(" ");
const BUDGET = { limit: { units: 100n }, period: BudgetPeriod.MONTH };

/** What the admin API on `gw` says the key spent: that instance's figure. */
async function spentOn(world: UsageWorld, gw: TestGateway, keyId: string): Promise<number> {
  const status = (await world.admin(gw).getKey({ name: `keys/${keyId}` })).key?.budgetStatus;
  return Number(status?.spent?.units ?? 0n) + (status?.spent?.nanos ?? 0) / 1e9;
}
const chat = (gw: TestGateway, secret: string, content: string) => gw.client("connect", secret).chat({ model: "gpt-4o", messages: [{ role: Role.USER, content }] });

describe("a budget put back on one of two instances sharing Postgres without Redis", () => {
  let world: UsageWorld;
  let elsewhere: TestGateway;
  beforeAll(async () => {
    world = await startUsageWorld("postgres");
    elsewhere = await world.start();
  });
  afterAll(() => world.close());

  it("is judged on the ledger by the other instance too, once it hears of the change", async () => {
    const keyId = "fleet-toggle";
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: keyId, budget: BUDGET } });
    // The other instance keeps a figure of its own for the key: $6.
    await chat(elsewhere, secret, "hi");
    expect(await spentOn(world, elsewhere, keyId)).toBe(6);

    await world.admin().updateKey({ key: { name: `keys/${keyId}` }, updateMask: mask("budget") });
    await chat(world.gw, secret, LONG);
    // A usage report writes its instance's ledger rows first: the other's row too, then this one's, and the sum.
    await world.admin(elsewhere).getUsageReport({ key: `keys/${keyId}` });
    const cost = (await world.admin().getUsageReport({ key: `keys/${keyId}` })).total?.cost;
    const total = Number(cost?.units ?? 0n) + (cost?.nanos ?? 0) / 1e9;
    expect(total).toBeGreaterThan(100);
    await world.admin().updateKey({ key: { name: `keys/${keyId}`, budget: BUDGET }, updateMask: mask("budget") });

    // Its $6 figure is dropped on news of the change (within a poll of the store's change log) and rebuilt from the ledger.
    await expect.poll(() => spentOn(world, elsewhere, keyId), { timeout: 5_000 }).toBe(total);
    expect((await failure(chat(elsewhere, secret, "hi"))).code).toBe(Code.ResourceExhausted);
  });
});

describe.each<Backend>(["sqlite", "postgres+redis"])("a key's first budget on %s, its earlier calls not written to the store yet", (backend) => {
  let world: UsageWorld;
  beforeAll(async () => {
    // The ledger writes a batch only when it is full or every ten minutes: the call's row waits in memory.
    world = await startUsageWorld(backend, { ledger: { flush_interval_ms: 600_000 } });
  });
  afterAll(() => world.close());

  it("counts those calls: the next one is refused", async () => {
    const keyId = `first-budget-${backend.replace("+", "-")}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: keyId } });
    await chat(world.gw, secret, LONG);
    await world.admin().updateKey({ key: { name: `keys/${keyId}`, budget: BUDGET }, updateMask: mask("budget") });
    expect((await failure(chat(world.gw, secret, "hi"))).code).toBe(Code.ResourceExhausted);
    expect(await spentOn(world, world.gw, keyId)).toBeGreaterThan(100);
  });
});

describe("news of a key change on two instances sharing Redis", () => {
  const UNIT = 1e9;
  const logger = createLogger("silent");
  const period = currentPeriod("month");
  const budget: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 1, whenExhausted: "refuse" };
  const ask = (keyId: string, units: number): BudgetAsk => ({ keyId, budget, period, reserveNormal: units * UNIT, reserveEconomy: undefined, atMs: Date.now() });
  const links: RedisLink[] = [];
  const counters: RedisSpendCounter[] = [];
  afterEach(async () => {
    for (const counter of counters.splice(0)) counter.close();
    for (const link of links.splice(0)) await link.close().catch(() => {});
  });

  it("leaves the shared counter, dropped once by the admin call, with what was settled into it since", async () => {
    const prefix = redisPrefix();
    // Two instances' counters on one Redis; the ledger has none of the key's rows yet.
    const instance = async () => {
      const link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix, logger });
      await link.connect();
      links.push(link);
      const metrics = new GatewayMetrics({ defaultMetrics: false });
      const counter = new RedisSpendCounter(link, async () => 0, "closed", new RedisErrors(metrics.redisErrors, logger));
      counters.push(counter);
      return counter;
    };
    const here = await instance();
    const elsewhere = await instance();

    // The admin call drops the counter; the next call rebuilds it and settles $6 into it, its row not stored yet.
    await here.forget("k");
    const call = await here.admit(ask("k", 10));
    await call.settle(6 * UNIT);
    expect(await here.spent("k", period)).toBe(6 * UNIT);

    // The news reaches every instance, the one that changed the key included (again, from the store's change log).
    await elsewhere.forgetHere("k");
    await here.forgetHere("k");
    expect(await elsewhere.spent("k", period)).toBe(6 * UNIT);
  });
});

describe("the in-process counter on news that any key may have changed", () => {
  it("rebuilds every key's figure from the ledger", async () => {
    let ledger = 0;
    const counter = new MemorySpendCounter(async () => ledger);
    const period = currentPeriod("month");
    expect(await counter.spent("a", period)).toBe(0);
    expect(await counter.spent("b", period)).toBe(0);
    ledger = 7;
    await counter.forgetHere(undefined);
    expect(await counter.spent("a", period)).toBe(7);
    expect(await counter.spent("b", period)).toBe(7);
    counter.close();
  });
});
