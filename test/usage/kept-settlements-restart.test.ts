// Settlements the Redis spend counter keeps while Redis is unreachable are
// written down (kept-settlement-journal.ts): an instance restarted before Redis
// is back sends them once it is, each once by its call id, even when a file is
// replayed after Redis took its settlements (a crash before the file was
// cleared). Each test has a redis-server of its own on a port in 46400-46499,
// started only after its counters ran without it. A restart is a counter
// closed (its files closed, as a killed process's are) and a new one on the
// same directory.
import { cpSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { currentPeriod, type BudgetAsk } from "../../src/usage/budgets.js";
import { KeptSettlementJournal } from "../../src/usage/kept-settlement-journal.js";
import { RedisSpendCounter } from "../../src/usage/redis-spend-counter.js";
import { SpendScripts, spendKeys } from "../../src/usage/spend-scripts.js";
import { silentLogger, silentRedisErrors } from "../support/redis-instances.js";
import { startRedis, type RunningService } from "../support/services.js";
import { redisPrefix, tempDir } from "../support/stores.js";

const UNIT = 1e9;
const clock = { now: Date.now() };
const period = currentPeriod("month", clock.now);
const BUDGET: KeyBudget = { limitNanos: 100 * UNIT, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };

function ask(keyId: string, reserveUnits: number): BudgetAsk {
  return { keyId, budget: BUDGET, period, reserveNormal: reserveUnits * UNIT, reserveEconomy: undefined };
}

/** The ports this file may use; each handed out once. */
const PORTS = { first: 46400, last: 46499 };
const handedOut = new Set<number>();

async function portInRange(): Promise<number> {
  const count = PORTS.last - PORTS.first + 1;
  const offset = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const port = PORTS.first + ((offset + i) % count);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${PORTS.first}-${PORTS.last}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

interface Instance {
  link: RedisLink;
  counter: RedisSpendCounter;
}

const running: Instance[] = [];
const services: RunningService[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const instance of running.splice(0)) await restart(instance);
  for (const service of services.splice(0)) await service.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A gateway's spend counter (policy "open") with its kept settlements in `dir`; the ledger has nothing. */
async function instance(url: string, dir: string, prefix: string): Promise<Instance> {
  const link = new RedisLink({ url, prefix, logger: silentLogger });
  await link.connect();
  const counter = new RedisSpendCounter(link, async () => 0, "open", silentRedisErrors(), { now: () => clock.now, journal: KeptSettlementJournal.open(dir, silentLogger) });
  const made = { link, counter };
  running.push(made);
  return made;
}

/** The instance's process ends: what it kept stays in its files only. */
async function restart(instance: Instance): Promise<void> {
  const at = running.indexOf(instance);
  if (at >= 0) running.splice(at, 1);
  instance.counter.close();
  await instance.link.close().catch(() => {});
}

/** A redis-server nothing listens on yet (Redis down), its URL, and a directory for kept settlements. */
async function outage(): Promise<{ port: number; url: string; dir: string; prefix: string }> {
  const port = await portInRange();
  const dir = tempDir("sb-kept-spend-");
  dirs.push(dir);
  return { port, url: `redis://127.0.0.1:${port}`, dir, prefix: redisPrefix() };
}

/** A call admitted in this process while Redis is down, and settled: its cost is kept for the shared counter. */
async function callDuringOutage(on: Instance, keyId: string, units: number): Promise<void> {
  const answer = await on.counter.admit(ask(keyId, units));
  expect(answer.decision).toBe("normal");
  await answer.settle(units * UNIT);
}

async function shared(link: RedisLink, keyId: string): Promise<{ settled: number; reserved: number } | undefined> {
  const read = await new SpendScripts(link).read(spendKeys(link, keyId, period.startMs, ""), clock.now);
  return read && { settled: read.settled / UNIT, reserved: read.reserved / UNIT };
}

describe("settlements kept for Redis across a restart", () => {
  it("adds what was spent during the outage to the shared counter once, though the instance restarted twice before Redis came back", async () => {
    const { port, url, dir, prefix } = await outage();
    const before = await instance(url, dir, prefix);
    await callDuringOutage(before, "outage", 30);
    await callDuringOutage(before, "outage", 20);
    // A call a killed run left in flight, charged as the ledger's replay does (by its reservation's id).
    await before.counter.charge({ keyId: "outage", period, costNanos: 5 * UNIT, callId: "interrupted-call" });
    expect(before.counter.pendingCount).toBe(3);
    await restart(before);

    const meanwhile = await instance(url, dir, prefix);
    expect(meanwhile.counter.pendingCount).toBe(3);
    await restart(meanwhile);

    const after = await instance(url, dir, prefix);
    expect(after.counter.pendingCount).toBe(3);
    // The ledger's replay charges the interrupted call again on this start: the same id, kept once.
    await after.counter.charge({ keyId: "outage", period, costNanos: 5 * UNIT, callId: "interrupted-call" });
    expect(after.counter.pendingCount).toBe(3);

    services.push(await startRedis(port));
    await expect.poll(() => after.counter.pendingCount, { timeout: 15_000 }).toBe(0);
    expect(await shared(after.link, "outage")).toEqual({ settled: 55, reserved: 0 });
    expect(await after.counter.spent("outage", period)).toBe(55 * UNIT);
    // Delivered: nothing is left to replay.
    await restart(after);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("counts a kept settlement once when its file is replayed again after Redis took it", async () => {
    const { port, url, dir, prefix } = await outage();
    const before = await instance(url, dir, prefix);
    await callDuringOutage(before, "replayed", 30);
    await restart(before);
    // The file as a crash would leave it had the crash come after Redis took the settlement, before the file was cleared.
    const leftByCrash = tempDir("sb-kept-spend-copy-");
    dirs.push(leftByCrash);
    cpSync(dir, leftByCrash, { recursive: true });

    const first = await instance(url, dir, prefix);
    services.push(await startRedis(port));
    await expect.poll(() => first.counter.pendingCount, { timeout: 15_000 }).toBe(0);
    expect(await shared(first.link, "replayed")).toEqual({ settled: 30, reserved: 0 });
    await restart(first);
    expect(readdirSync(dir)).toEqual([]);

    cpSync(leftByCrash, dir, { recursive: true });
    const second = await instance(url, dir, prefix);
    expect(second.counter.pendingCount).toBe(1);
    await expect.poll(() => second.counter.pendingCount, { timeout: 15_000 }).toBe(0);
    expect(await shared(second.link, "replayed")).toEqual({ settled: 30, reserved: 0 });
    await restart(second);
    expect(readdirSync(dir)).toEqual([]);
  });
});
