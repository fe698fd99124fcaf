import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { createPostgresDatabase, tempDir } from "../support/stores.js";
import { deployConfig, fleetEnvironment, startGatewayFleet, type GatewayFleet, type Instance } from "./support/gateway-fleet.js";
import { startLoad, tally, type CallRecord, type LoadOptions, type Protocol } from "./support/load.js";
import { startNginx, type Nginx } from "./support/nginx.js";
import { startRedisCluster, type RedisCluster } from "./support/redis-cluster.js";

// The founding design's deployment, on loopback with real processes: nginx
// (deploy/nginx.conf itself) in front of three gateway processes, a Redis
// Cluster of three masters with a replica each, and Postgres for keys and the
// ledger. Every phase runs under steady load through nginx, in every protocol,
// and prints its figures (docs/deploy.md quotes them).

const MASTER = "sk-fleet-master-key";
const EVERY_PROTOCOL: Protocol[] = ["connect-h1", "rest-h1", "connect-h2c-stream", "grpc", "grpc-stream", "connect-h1"];
/** A dollar a hundred tokens: a budget call costs about $0.15 and reserves about $0.45. */
const PRICING = { models: { "gpt-4o": { input: 10_000, output: 10_000 } } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failures = (records: CallRecord[]) => records.filter((record) => record.outcome !== "ok");

function report(phase: string, figures: Record<string, unknown>): void {
  console.info(`[fleet] ${phase}: ${Object.entries(figures).map(([name, value]) => `${name} ${typeof value === "object" ? JSON.stringify(value) : value}`).join(", ")}`);
}

describe("the design's deployment: nginx, three gateways, a Redis Cluster, Postgres", () => {
  let fake: OpenAIFake;
  let cluster: RedisCluster;
  let fleet: GatewayFleet;
  let nginx: Nginx;
  let db: pg.Client;
  let admin: Client<typeof AdminService>;
  let dropDatabase = async () => {};
  let load: (tag: string, options?: Partial<LoadOptions>) => ReturnType<typeof startLoad>;

  beforeAll(async () => {
    const started = performance.now();
    const dir = tempDir("sb-fleet-");
    // Streams take ~100 ms (ten chunks 10 ms apart), so kills and drains find calls in flight.
    const [vendor, redis, database] = await Promise.all([startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 10, extraWords: 6 }), startRedisCluster(), createPostgresDatabase()]);
    [fake, cluster] = [vendor, redis];
    dropDatabase = database.drop;
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const env = fleetEnvironment({ masterKey: MASTER, databaseUrl: database.url, redisUrl: cluster.url, vendorKey: "sk-up", vendorUrl: fake.baseUrl });
    // The deployment's own configuration file, plus prices that make budget arithmetic easy.
    fleet = await startGatewayFleet(3, env, { ...deployConfig(), pricing: PRICING }, dir);
    nginx = await startNginx(
      fleet.instances.map((instance) => instance.address),
      `${dir}/nginx`,
    );
    admin = createClient(AdminService, createConnectTransport({ baseUrl: nginx.httpUrl, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${MASTER}`), next(req))] }));
    load = (tag, options = {}) => startLoad({ httpUrl: nginx.httpUrl, h2cUrl: nginx.h2cUrl, key: MASTER, clients: EVERY_PROTOCOL, tag, pauseMs: 20, ...options });
    report("setup", { seconds: ((performance.now() - started) / 1000).toFixed(1), redis: "3 masters + 3 replicas", gateways: 3 });
  }, 180_000);

  afterAll(async () => {
    await nginx?.close();
    await fleet?.close();
    await cluster?.close();
    await fake?.close();
    await db?.end();
    await dropDatabase();
  });

  /** Waits until the ledger holds every id once; returns the ids still missing after `timeoutMs`. */
  async function missingFromLedger(ids: string[], timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ request_id: string }>("SELECT request_id FROM usage_ledger WHERE request_id = ANY($1)", [ids]);
      const found = new Set(rows.map((row) => row.request_id));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length === 0 || Date.now() > deadline) return missing;
      await sleep(200);
    }
  }

  /** Failed Redis commands of these operations, summed over the instances (switchboard_redis_errors_total). */
  async function redisErrors(operations: string[]): Promise<number> {
    let sum = 0;
    for (const instance of fleet.instances) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text();
      for (const operation of operations) sum += Number(new RegExp(`^switchboard_redis_errors_total\\{operation="${operation}"\\} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
    }
    return sum;
  }

  async function recordedTwice(): Promise<string[]> {
    const { rows } = await db.query<{ request_id: string }>("SELECT request_id FROM usage_ledger GROUP BY request_id HAVING COUNT(*) > 1");
    return rows.map((row) => row.request_id);
  }

  it("serves HTTP/1.1, HTTP/2 and gRPC through the balancer, on every instance", async () => {
    const calls = load("smoke");
    await sleep(1_500);
    const records = await calls.stop();
    report("smoke", { calls: records.length, outcomes: tally(records) });
    expect(failures(records)).toEqual([]);
    expect(new Set(records.map((record) => record.protocol)).size).toBe(5);
    // Round robin reached all three (each counts the calls it served).
    for (const instance of fleet.instances) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text();
      expect(metrics, instance.name).toMatch(/switchboard_ledger_rows_total\{result="written"\} [1-9]/);
    }
    // ...while the front never shows them (key ids, teams, spend) to whoever reaches it.
    expect((await fetch(`${nginx.httpUrl}/metrics`)).status).toBe(404);
  });

  it("loses only the calls a killed instance had in flight, and none of its completed calls' ledger rows", { timeout: 120_000 }, async () => {
    const victim = fleet.instances[1]!;
    const calls = load("kill");
    await sleep(1_500);
    const killedAt = performance.now();
    await fleet.kill(victim);
    const deadAt = performance.now();
    await sleep(2_000);
    // The restart replays its ledger journal before it listens again.
    await fleet.start(victim);
    await nginx.waitUntilServedBy(victim.address);
    const records = await calls.stop();

    const failed = failures(records);
    const inFlightAtKill = (record: CallRecord) => record.startedAt <= deadAt && record.endedAt >= killedAt;
    const ok = records.filter((record) => record.outcome === "ok").map((record) => record.id);
    const missing = await missingFromLedger(ok);
    const replayed = /"rows":(\d+)[^\n]*replaying usage ledger rows/.exec(victim.process!.output())?.[1] ?? "0";
    report("kill -9", { calls: records.length, failed: failed.length, "failed while in flight on it": failed.filter(inFlightAtKill).length, "completed calls missing from the ledger": missing.length, "rows replayed from its journal": replayed });
    expect(failed.filter((record) => !inFlightAtKill(record))).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(EVERY_PROTOCOL.length);
    expect(missing).toEqual([]);
    expect(await recordedTwice()).toEqual([]);
  });

  it("restarts every instance in turn under load, losing no call but (rarely) one that races a listener's close", { timeout: 120_000 }, async () => {
    const errorsBefore = nginx.errors().length;
    const calls = load("rolling");
    await sleep(1_000);
    const drains: [number, number][] = [];
    for (const instance of fleet.instances) {
      const drainStarted = performance.now();
      // SIGTERM: readiness turns 503, the listener closes, calls in flight finish.
      expect(await fleet.stop(instance)).toBe(0);
      drains.push([drainStarted, performance.now()]);
      await fleet.start(instance);
      // nginx tries a refusing instance again only after `fail_timeout`: stopping the next one before nginx has
      // taken this one back could leave no instance in rotation (CI: "no live upstreams" for a moment).
      await nginx.waitUntilServedBy(instance.address);
    }
    const records = await calls.stop();
    const failed = failures(records);
    const ok = records.filter((record) => record.outcome === "ok").map((record) => record.id);
    report("rolling restart", { calls: records.length, failed: failed.length, outcomes: tally(records), "completed calls missing from the ledger": (await missingFromLedger(ok)).length });
    if (failed.length > 0) console.info(`[fleet] nginx, for the failed calls:\n${nginx.log()}`);
    // A draining gateway still reads and answers what is already on its way (connection: close, a two-step
    // GOAWAY) before it closes a connection. What remains is the kernel's: a connection whose handshake completes
    // in the instant between the gateway's last accept and its listener's close is reset after nginx wrote a
    // call on it, and nginx OSS (no active health check) does not resend a POST (docs/deploy.md). So a failed
    // call must have been in flight during a drain, with a reset in nginx's log for each; on a busy machine that
    // is about one call in a few runs, held here to at most one per restart.
    const described = failed.map((record) => ({ id: record.id, outcome: record.outcome, inDrain: drains.some(([from, to]) => record.startedAt <= to && record.endedAt >= from) }));
    const raced = described.filter((record) => record.inDrain);
    const resets = nginx
      .errors()
      .slice(errorsBefore)
      .filter((line) => line.includes("(104: Connection reset by peer) while reading response header from upstream"));
    if (raced.length > 0) console.info(`[fleet] resets nginx saw:\n${resets.join("\n")}`);
    expect(described.filter((record) => !record.inDrain)).toEqual([]);
    expect(raced.length).toBeLessThanOrEqual(resets.length);
    expect(raced.length).toBeLessThanOrEqual(fleet.instances.length);
  });

  it("holds a key's rate limit and budget across the three instances through a Redis master's failover", { timeout: 120_000 }, async () => {
    const rpm = 60;
    const budgetUsd = 3;
    // Both keys' counters on the master that will be stopped.
    const limited = "fleet-limit";
    const master = await cluster.masterOf(`{${limited}}`);
    let budgeted = "";
    for (let n = 0; !budgeted; n++) if ((await cluster.masterOf(`{fleet-budget-${n}}`)) === master) budgeted = `fleet-budget-${n}`;
    const limitKey = await admin.createKey({ keyId: limited, key: { displayName: "fleet limit", requestsPerMinute: rpm } });
    const budgetKey = await admin.createKey({ keyId: budgeted, key: { displayName: "fleet budget", budget: { limit: { currencyCode: "USD", units: BigInt(budgetUsd) } } } });

    const fellBackBefore = await redisErrors(["rate_limit", "budget_admit"]);
    const started = performance.now();
    const background = load("failover");
    const limitCalls = load("limit", { key: limitKey.secret, clients: ["connect-h1", "grpc"], pauseMs: 20 });
    const budgetCalls = load("budget", { key: budgetKey.secret, clients: ["connect-h1", "rest-h1"], pauseMs: 150, model: "gpt-4o", maxTokens: 8 });
    await sleep(1_000);
    const failover = await cluster.failMasterOf(`{${limited}}`);
    await sleep(5_000);
    const [limitRecords, budgetRecords, backgroundRecords] = await Promise.all([limitCalls.stop(), budgetCalls.stop(), background.stop()]);
    const seconds = (performance.now() - started) / 1000;

    // GCRA: a burst of a minute's allowance, then one call per 60/rpm s. Calls whose writes
    // were in flight when the master died may be lost from the replica (Redis replicates
    // asynchronously): at most one per client (docs/deploy.md, "What a failover costs").
    const admitted = limitRecords.filter((record) => record.outcome === "ok").length;
    const allowed = rpm + Math.ceil((rpm * seconds) / 60) + 1 + 2;
    await sleep(1_000); // the last rows' flush
    const { rows } = await db.query<{ spent: string; calls: string; max_cost: string }>(
      "SELECT COALESCE(SUM(cost_nanos), 0) AS spent, COUNT(*) FILTER (WHERE status = 'ok') AS calls, COALESCE(MAX(cost_nanos), 0) AS max_cost FROM usage_ledger WHERE key_id = $1",
      [budgeted],
    );
    const spent = Number(rows[0]!.spent) / 1e9;
    // Commands that gave up waiting for the promotion: their calls were counted by one instance alone (the policy's fallback).
    const countedAlone = (await redisErrors(["rate_limit", "budget_admit"])) - fellBackBefore;
    const maxCost = Number(rows[0]!.max_cost) / 1e9;
    report("Redis failover", {
      "master stopped": failover.stopped,
      "replica promoted": failover.promoted,
      "failover ms": failover.tookMs,
      seconds: seconds.toFixed(1),
      "limit calls": limitRecords.length,
      admitted,
      "allowed (rpm + refill + slack)": allowed,
      "if each instance limited alone": 3 * rpm,
      "budget calls served": rows[0]!.calls,
      "spent USD": spent.toFixed(4),
      "budget USD": budgetUsd,
      "largest call USD": maxCost.toFixed(4),
      "calls counted by one instance alone": countedAlone,
      "background calls": backgroundRecords.length,
      outcomes: { limit: tally(limitRecords), budget: tally(budgetRecords), background: tally(backgroundRecords) },
    });
    expect(failover.promoted).not.toBe(failover.stopped);
    // Within the wait (5 s; this failover takes about 3) the counts stay shared and the bounds are tight. A failover
    // that outlasts it on a busy machine falls back to the policy: each instance counts alone from the shared count it
    // last saw, and the documented bound (docs/deploy.md, "What a failover costs") is the looser one: up to 3 times.
    const instances = countedAlone === 0 ? 1 : 3;
    // No call refused before the key's allowance was used (a slow machine may not send rpm calls at all).
    const refused = limitRecords.filter((record) => record.outcome === "ResourceExhausted:RATE_LIMITED").length;
    if (refused > 0) expect(admitted).toBeGreaterThanOrEqual(rpm);
    expect(admitted).toBeLessThanOrEqual(instances * allowed);
    // The budget ran out during the phase, and was never passed by more than one call's cost per instance.
    expect(budgetRecords.some((record) => /BUDGET_EXHAUSTED|budget_exhausted/.test(record.outcome))).toBe(true);
    expect(spent).toBeLessThanOrEqual(instances * budgetUsd + 3 * maxCost);
    // Calls went on: the limited keys waited out the failover; nothing failed.
    expect(failures(limitRecords).filter((record) => record.outcome !== "ResourceExhausted:RATE_LIMITED")).toEqual([]);
    expect(failures(budgetRecords).filter((record) => !/BUDGET_EXHAUSTED|budget_exhausted/.test(record.outcome))).toEqual([]);
    expect(failures(backgroundRecords)).toEqual([]);
  });

  // Waits on the answers themselves, not on a clock: the news has to arrive
  // well before the key cache's minute would have run out (the report shows
  // the ms each instance took, typically tens).
  it("brings a new key and a revocation to all three instances without waiting out their key caches", { timeout: 90_000 }, async () => {
    const direct = (instance: Instance, secret: string) =>
      fetch(`${instance.url}/switchboard.v1.AIService/Chat`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }),
      }).then((res) => res.status);
    /** Per instance, the ms until `status` answers a call made straight to it (Infinity once the key cache's minute is half gone). */
    const until = async (secret: string, status: number, since: number) =>
      Promise.all(
        fleet.instances.map(async (instance) => {
          while ((await direct(instance, secret)) !== status) {
            if (performance.now() - since > 30_000) return Infinity;
            await sleep(10);
          }
          return Math.round(performance.now() - since);
        }),
      );
    const background = load("propagation");
    const created = await admin.createKey({ key: { displayName: "fleet propagation" } });
    const createdAt = performance.now();
    const accepted = await until(created.secret, 200, createdAt);
    await admin.revokeKey({ name: created.key!.name });
    const revokedAt = performance.now();
    const refused = await until(created.secret, 401, revokedAt);
    const records = await background.stop();
    report("key news", { "ms until each instance accepts a new key": accepted, "ms until each refuses it once revoked": refused, "background calls": records.length });
    expect(accepted.every(Number.isFinite)).toBe(true);
    expect(refused.every(Number.isFinite)).toBe(true);
    expect(failures(records)).toEqual([]);
  });
});
