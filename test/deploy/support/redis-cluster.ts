import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../../support/services.js";
import { startChild, waitUntil, type Child } from "./child-process.js";

/** A Redis Cluster on loopback: three masters with a replica each, on free ports, in a temporary directory. */
export interface RedisCluster {
  /** The gateway's REDIS_URL for it. */
  readonly url: string;
  /** The ports of the six nodes, as `redis-cli --cluster create` was given them. */
  readonly ports: number[];
  /**
   * Stops (SIGKILL) the master that serves `key`'s slot, then waits until its
   * replica has taken the slot over and the cluster is healthy again.
   */
  failMasterOf(key: string): Promise<{ stopped: number; promoted: number; tookMs: number }>;
  /** The port of the master that serves `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /**
   * Stops (SIGKILL) the master that serves `key`'s slot and its replica: that
   * shard's slots are served by no one until `restart` starts both again (with
   * their cluster configuration, without their data) and the cluster is healthy
   * (once: a second `restart` waits for the first).
   */
  stopShardOf(key: string): Promise<{ ports: number[]; restart(): Promise<void> }>;
  close(): Promise<void>;
}

interface Node {
  port: number;
  busPort: number;
  child: Child;
  stopped: boolean;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: [number, number][];
}

/**
 * What makes a node a cluster node, as deploy/compose.yaml's nodes are too.
 * Without full coverage required, the other masters' slots keep serving while
 * one master's replica takes over.
 */
export const CLUSTER_NODE_FLAGS = ["--cluster-enabled", "yes", "--cluster-require-full-coverage", "no"];

/** Short, so a failover takes a second or two: a master is judged failed after this, then its replica is elected. */
export const NODE_TIMEOUT_MS = 1_000;

function redisBinary(name: "redis-server" | "redis-cli"): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error(`${name} is not installed; run \`bash scripts/install-test-deps.sh\` (what .ci/run does) to install it`);
  return found;
}

async function ask<T>(port: number, question: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await question(redis);
  } finally {
    redis.disconnect();
  }
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(" ");
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)![1]),
        flags: flags!.split(","),
        masterId: masterId!,
        slots: slots.filter((s) => /^\d/.test(s)).map((s) => s.split("-").map(Number) as [number, number]).map(([a, b]) => [a, b ?? a] as [number, number]),
      };
    });
}

async function healthy(nodes: Node[]): Promise<boolean> {
  for (const node of nodes.filter((n) => !n.stopped)) {
    const info = await ask(node.port, (r) => r.cluster("INFO"));
    if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
    const replication = await ask(node.port, (r) => r.info("replication"));
    if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
  }
  return true;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const server = redisBinary("redis-server");
  const cli = redisBinary("redis-cli");
  const dir = mkdtempSync(join(tmpdir(), "sb-redis-cluster-"));
  const nodes: Node[] = [];
  const startNode = (port: number, busPort: number) => {
    // The bus port is set explicitly: the default (port + 10000) may be taken, or past 65535.
    const args = ["--port", String(port), "--cluster-port", String(busPort), "--bind", "127.0.0.1", "--cluster-config-file", `nodes-${port}.conf`];
    args.push(...CLUSTER_NODE_FLAGS, "--cluster-node-timeout", String(NODE_TIMEOUT_MS), "--save", "", "--appendonly", "no", "--dir", dir);
    return startChild(server, args, { cwd: dir });
  };
  const ready = (node: Node) => waitUntil("redis-server (cluster node)", () => node.child.log().includes("Ready to accept connections"), { child: node.child });
  try {
    for (let i = 0; i < 6; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      nodes.push({ port, busPort, child: startNode(port, busPort), stopped: false });
    }
    for (const node of nodes) await ready(node);
    const created = spawnSync(cli, ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes"], { encoding: "utf8", timeout: 60_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
    // Every node agrees that all slots are served, and every replica is in sync with its master.
    await waitUntil("Redis Cluster state ok", () => healthy(nodes), { timeoutMs: 30_000, intervalMs: 200 });
  } catch (err) {
    await Promise.all(nodes.map((n) => n.child.kill()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const live = () => nodes.filter((n) => !n.stopped);
  const ownerOf = async (key: string) => {
    const anyPort = live()[0]!.port;
    const slot = await ask(anyPort, (r) => r.cluster("KEYSLOT", key));
    const view = parseNodes(await ask(anyPort, (r) => r.cluster("NODES") as Promise<string>));
    const owner = (nodes: NodeLine[]) => nodes.find((n) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.some(([a, b]) => slot >= a && slot <= b));
    return { slot, view, owner };
  };
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
    ports: nodes.map((n) => n.port),
    async masterOf(key) {
      const { view, owner } = await ownerOf(key);
      return owner(view)!.port;
    },
    async failMasterOf(key) {
      const { slot, view: before, owner } = await ownerOf(key);
      const master = owner(before)!;
      const replica = before.find((n) => n.masterId === master.id)!;
      const stoppedNode = nodes.find((n) => n.port === master.port)!;
      const started = Date.now();
      stoppedNode.stopped = true;
      await stoppedNode.child.kill();
      // The replica wins the election and every surviving node sees it serve the slot.
      await waitUntil(
        `the replica on ${replica.port} taking over slot ${slot} from ${master.port}`,
        async () => {
          for (const node of live()) {
            if (owner(parseNodes(await ask(node.port, (r) => r.cluster("NODES") as Promise<string>)))?.port !== replica.port) return false;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      return { stopped: master.port, promoted: replica.port, tookMs: Date.now() - started };
    },
    async stopShardOf(key) {
      const { view, owner } = await ownerOf(key);
      const master = owner(view)!;
      const shard = nodes.filter((n) => n.port === master.port || view.some((v) => v.port === n.port && v.masterId === master.id));
      for (const node of shard) {
        node.stopped = true;
        await node.child.kill();
      }
      let restarted: Promise<void> | undefined;
      const restart = async () => {
        for (const node of shard) {
          node.child = startNode(node.port, node.busPort);
          node.stopped = false;
          await ready(node);
        }
        await waitUntil("Redis Cluster state ok after the shard's restart", () => healthy(nodes), { timeoutMs: 30_000, intervalMs: 200 });
      };
      return { ports: shard.map((n) => n.port), restart: () => (restarted ??= restart()) };
    },
    async close() {
      await Promise.all(nodes.map((n) => n.child.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
