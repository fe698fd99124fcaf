import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { freePort } from "../support/services.js";
import { startChild, waitUntil, type Child } from "./support/child-process.js";

// A master, its replica and one Sentinel on loopback: REDIS_URL=redis+sentinel://…
// finds the master through the Sentinel, and finds the new one after a failover.
describe("Redis through Sentinel", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-sentinel-"));
  const children: Child[] = [];
  let master: Child;
  let sentinel: Child;
  let ports: { master: number; replica: number; sentinel: number };
  const server = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  const redis = (args: string[]) => {
    const child = startChild(server, [...args, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    if (!server) throw new Error("redis-server is not installed; run `bash scripts/install-test-deps.sh` (what .ci/run does) to install it");
    ports = { master: await freePort(), replica: await freePort(), sentinel: await freePort() };
    master = redis(["--port", String(ports.master)]);
    const replica = redis(["--port", String(ports.replica), "--replicaof", "127.0.0.1", String(ports.master)]);
    const conf = join(dir, "sentinel.conf");
    writeFileSync(conf, [`port ${ports.sentinel}`, `sentinel monitor main 127.0.0.1 ${ports.master} 1`, "sentinel down-after-milliseconds main 1000", "sentinel failover-timeout main 5000", ""].join("\n"));
    sentinel = startChild(server, [conf, "--sentinel"]);
    children.push(sentinel);
    await waitUntil("replica in sync", () => replica.log().includes("MASTER <-> REPLICA sync: Finished"), { child: replica });
    // The Sentinel learns of the replica from the master's INFO: only then can it promote it.
    await waitUntil("sentinel watching the master and its replica", () => sentinel.log().includes(`+slave slave 127.0.0.1:${ports.replica}`), { child: sentinel, timeoutMs: 30_000 });
    // A Sentinel whose timer ran 2 s late (a starved CI machine) enters TILT and
    // acts on nothing for 30 s: the whole failover wait. Here it sits out 1 s.
    const admin = new Redis({ host: "127.0.0.1", port: ports.sentinel, lazyConnect: true });
    await admin.call("SENTINEL", "DEBUG", "tilt-period", "1000");
    admin.disconnect();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs commands and pub/sub on the master the Sentinel names, before and after a failover", { timeout: 60_000 }, async () => {
    const link = new RedisLink({ url: `redis+sentinel://127.0.0.1:${ports.sentinel}/main`, prefix: "sentinel-test:", logger: createLogger("silent") });
    const listener = new RedisLink({ url: `redis+sentinel://127.0.0.1:${ports.sentinel}/main`, prefix: "sentinel-test:", logger: createLogger("silent") });
    try {
      await Promise.all([link.connect(), listener.connect()]);
      const heard: string[] = [];
      await listener.subscribe("news", (message) => heard.push(message), () => {});
      expect(link.isUp).toBe(true);
      expect(await link.client.incr(link.key("n"))).toBe(1);
      await link.publish("news", "before");
      await expect.poll(() => heard).toEqual(["before"]);

      await master.kill();
      // The Sentinel promotes the replica; the link, told by the Sentinel, reconnects to it.
      await waitUntil("commands on the promoted replica", async () => (await link.client.incr(link.key("n")).catch(() => 0)) > 1, { timeoutMs: 30_000, intervalMs: 200, child: sentinel });
      expect(Number(await link.client.get(link.key("n")))).toBeGreaterThanOrEqual(2);
      await expect.poll(async () => (await link.publish("news", "after"), heard.includes("after")), { timeout: 15_000, interval: 200 }).toBe(true);
    } finally {
      await link.close();
      await listener.close();
    }
  });
});
