import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { spawnGateway, type GatewayProcess } from "../../support/gateway-process.js";
import { freePort } from "../../support/services.js";
import { waitUntil } from "./child-process.js";

/** The configuration file the deployment's gateways read (compose mounts it as SWITCHBOARD_CONFIG). */
export const DEPLOY_CONFIG = join(import.meta.dirname, "../../../deploy/switchboard.yaml");

export function deployConfig(): Record<string, unknown> {
  return parse(readFileSync(DEPLOY_CONFIG, "utf8")) as Record<string, unknown>;
}

/**
 * What every instance of the fleet is given, as deploy/compose.yaml gives it
 * (test/deploy/compose.test.ts compares the two): one master key and pepper,
 * the store, the Redis Cluster, and the vendor.
 */
export function fleetEnvironment(services: { masterKey: string; databaseUrl: string; redisUrl: string; vendorKey: string; vendorUrl: string }): Record<string, string> {
  return {
    SWITCHBOARD_MASTER_KEY: services.masterKey,
    SWITCHBOARD_PEPPER: "the-fleet-shares-one-pepper-0123456789",
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    OPENAI_API_KEY: services.vendorKey,
    OPENAI_BASE_URL: services.vendorUrl,
  };
}

/** One gateway process of the fleet; a restart keeps its port and data directory (its ledger journal). */
export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly address: string;
  process: GatewayProcess | undefined;
}

/** Three (or n) gateways as spawned processes, each on its own loopback port and data directory. */
export interface GatewayFleet {
  readonly instances: Instance[];
  /** Starts (or restarts) an instance and waits until /readyz answers 200. */
  start(instance: Instance): Promise<void>;
  /** kill -9. */
  kill(instance: Instance): Promise<void>;
  /** SIGTERM: drains its calls in flight, then exits; resolves with its exit code. */
  stop(instance: Instance): Promise<number | null>;
  close(): Promise<void>;
}

/**
 * `env` is what every instance shares (fleetEnvironment); `config` the YAML
 * file they all read (SWITCHBOARD_CONFIG).
 */
export async function startGatewayFleet(count: number, env: Record<string, string>, config: object, dir: string): Promise<GatewayFleet> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "switchboard.yaml");
  writeFileSync(configFile, stringify(config));
  const instances: Instance[] = [];
  for (let i = 1; i <= count; i++) {
    const port = await freePort();
    instances.push({ name: `gateway-${i}`, url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, process: undefined });
  }
  const envOf = (instance: Instance): Record<string, string> => ({
    ...env,
    PORT: instance.address.split(":")[1]!,
    SWITCHBOARD_CONFIG: configFile,
    SWITCHBOARD_DATA_DIR: join(dir, instance.name),
  });
  const fleet: GatewayFleet = {
    instances,
    async start(instance) {
      instance.process = spawnGateway(envOf(instance));
      await instance.process.listening();
      await waitUntil(`${instance.name} ready`, async () => (await fetch(`${instance.url}/readyz`)).status === 200, { timeoutMs: 30_000, intervalMs: 50 });
    },
    async kill(instance) {
      const child = instance.process?.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await instance.process?.exited;
    },
    async stop(instance) {
      instance.process?.child.kill("SIGTERM");
      return (await instance.process?.exited) ?? null;
    },
    async close() {
      await Promise.all(instances.map((instance) => fleet.kill(instance)));
    },
  };
  // Started together: migrations and the pepper check are safe to race (several instances may start at once).
  await Promise.all(instances.map((instance) => fleet.start(instance)));
  return fleet;
}
