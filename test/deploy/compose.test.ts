import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load-config.js";
import { PROVIDER_PRESETS } from "../../src/config/provider-presets.js";
import { parseRedisUrl } from "../../src/redis/redis-url.js";
import { tempDir } from "../support/stores.js";
import { DEPLOY_CONFIG, fleetEnvironment } from "./support/gateway-fleet.js";
import { NGINX_CONF } from "./support/nginx.js";
import { CLUSTER_NODE_FLAGS } from "./support/redis-cluster.js";

// Docker cannot run here, so deploy/compose.yaml is checked against what the
// fleet test runs (test/deploy/fleet.test.ts) and what the gateway reads.

const ROOT = join(import.meta.dirname, "../..");
const DEPLOY = join(ROOT, "deploy");
const GATEWAYS = ["gateway-1", "gateway-2", "gateway-3"];
const REDIS_NODES = ["redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6"];

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(readFileSync(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, Service> };
const nginxConf = readFileSync(NGINX_CONF, "utf8");

/** Every environment variable the gateway reads: `env.NAME` anywhere in src/, and each vendor's `<NAME>_…` variables. */
function variablesTheGatewayReads(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) for (const [, name] of readFileSync(path, "utf8").matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(name!);
    }
  };
  walk(join(ROOT, "src"));
  for (const preset of PROVIDER_PRESETS) {
    const prefix = preset.name.toUpperCase();
    for (const suffix of ["API_KEY", "BASE_URL", "AK", "SK", "MODE", ...Object.values(preset.envHeaders ?? {})]) names.add(`${prefix}_${suffix}`);
  }
  return names;
}

describe("deploy/compose.yaml", () => {
  it("has the design's services: a balancer, three gateways, a six-node Redis Cluster, Postgres, OpenBao, Prometheus, Grafana, Jaeger", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...GATEWAYS, "grafana", "jaeger", "openbao", "postgres", "prometheus", "proxy", ...REDIS_NODES, "redis-cluster-init"].sort());
  });

  it("mounts the alert rules where Prometheus reads them, and Grafana's provisioning where its files say", () => {
    const rules = (parse(readFileSync(join(DEPLOY, "prometheus.yml"), "utf8")) as { rule_files: string[] }).rule_files;
    const mounted = compose.services.prometheus!.volumes!.map((volume) => volume.split(":")[1]!);
    expect(mounted.some((target) => rules.some((glob) => target.startsWith(glob.slice(0, glob.lastIndexOf("/") + 1))))).toBe(true);
    const grafana = compose.services.grafana!.volumes!.map((volume) => volume.split(":").slice(0, 2).join(":"));
    for (const kind of ["datasources", "dashboards"]) {
      const file = readFileSync(join(DEPLOY, "grafana/provisioning", kind, readdirSync(join(DEPLOY, "grafana/provisioning", kind))[0]!), "utf8");
      const target = /Mount this folder at (\S+)/.exec(file)![1]!;
      expect(grafana).toContain(`./grafana/provisioning/${kind}:${target.replace(/\.$/, "")}`);
    }
    const dashboards = parse(readFileSync(join(DEPLOY, "grafana/provisioning/dashboards/switchboard.yaml"), "utf8")) as { providers: { options: { path: string } }[] };
    expect(grafana).toContain(`./grafana/dashboards:${dashboards.providers[0]!.options.path}`);
    expect(compose.services["gateway-1"]!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
  });

  it("gives each gateway what the fleet test gives its processes, and only variables the gateway reads", () => {
    const reads = variablesTheGatewayReads();
    const tested = Object.keys(fleetEnvironment({ masterKey: "", databaseUrl: "", redisUrl: "", vendorKey: "", vendorUrl: "" }));
    for (const name of GATEWAYS) {
      const environment = compose.services[name]!.environment!;
      const given = Object.keys(environment);
      expect(given.filter((variable) => !reads.has(variable)), `${name}: variables the gateway never reads`).toEqual([]);
      // The fleet test points OPENAI_BASE_URL at its fake vendor; compose talks to the real one.
      expect(tested.filter((variable) => variable !== "OPENAI_BASE_URL" && !given.includes(variable)), `${name}: variables the fleet test sets`).toEqual([]);
      expect(environment.SWITCHBOARD_CONFIG).toBe("/etc/switchboard/switchboard.yaml");
      expect(compose.services[name]!.volumes).toContain("./switchboard.yaml:/etc/switchboard/switchboard.yaml:ro");
    }
  });

  it("points every gateway at the whole Redis Cluster, built as the fleet test builds its own", () => {
    const target = parseRedisUrl(compose.services["gateway-1"]!.environment!.REDIS_URL!);
    expect(target.kind).toBe("cluster");
    expect(target.kind === "cluster" && target.nodes.map((node) => `${node.host}:${node.port}`)).toEqual(REDIS_NODES.map((node) => `${node}:6379`));
    for (const node of REDIS_NODES) {
      const command = compose.services[node]!.command as string[];
      expect(command[0]).toBe("redis-server");
      for (let i = 0; i < CLUSTER_NODE_FLAGS.length; i += 2) expect(command.join(" "), node).toContain(`${CLUSTER_NODE_FLAGS[i]} ${CLUSTER_NODE_FLAGS[i + 1]}`);
    }
    const init = compose.services["redis-cluster-init"]!;
    expect(String(init.command)).toMatch(/redis-cli --cluster create \$\$nodes --cluster-replicas 1 --cluster-yes/);
    expect(String(init.command)).toContain("for n in 1 2 3 4 5 6");
    expect(Object.keys(compose.services["gateway-1"]!.depends_on!)).toContain("redis-cluster-init");
  });

  it("balances the three gateways with deploy/nginx.conf on the ports it publishes", () => {
    const port = 8080; // deploy/switchboard.yaml's server.port; the image sets PORT=8080 too
    for (const upstream of ["switchboard_http", "switchboard_grpc"]) {
      const block = new RegExp(`upstream ${upstream} \\{([^}]*)\\}`).exec(nginxConf)?.[1] ?? "";
      expect([...block.matchAll(/server ([\w-]+):(\d+)/g)].map(([, host, p]) => `${host}:${p}`), upstream).toEqual(GATEWAYS.map((gateway) => `${gateway}:${port}`));
    }
    const listens = [...nginxConf.matchAll(/listen (\d+)/g)].map(([, p]) => p);
    expect(compose.services.proxy!.ports).toEqual(listens.map((p) => `${p}:${p}`));
    expect(compose.services.proxy!.volumes).toContain("./nginx.conf:/etc/nginx/nginx.conf:ro");
    const prometheus = parse(readFileSync(join(DEPLOY, "prometheus.yml"), "utf8")) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual(GATEWAYS.map((gateway) => `${gateway}:${port}`));
  });

  it("mounts a configuration the gateway accepts, as do the Helm chart's default and production values", () => {
    const file = parse(readFileSync(DEPLOY_CONFIG, "utf8")) as { server: { port: number; shutdown_grace_ms: number } };
    expect(file.server.port).toBe(8080);
    const env = { SWITCHBOARD_DATA_DIR: tempDir("sb-deploy-config-"), VAULT_ADDR: "http://127.0.0.1:8200", VAULT_TOKEN: "unused" };
    expect(loadConfig({ ...env, SWITCHBOARD_CONFIG: DEPLOY_CONFIG }).server.shutdownGraceMs).toBe(file.server.shutdown_grace_ms);
    // compose lets a drain finish: stop_grace_period is above the grace.
    expect(Number(/stop_grace_period: (\d+)s/.exec(readFileSync(join(DEPLOY, "compose.yaml"), "utf8"))?.[1]) * 1000).toBeGreaterThan(file.server.shutdown_grace_ms);
    for (const values of ["values.yaml", "examples/production-values.yaml"]) {
      const { config } = parse(readFileSync(join(DEPLOY, "helm/switchboard", values), "utf8")) as { config: object };
      const path = join(env.SWITCHBOARD_DATA_DIR, "chart.yaml");
      writeFileSync(path, JSON.stringify(config));
      expect(() => loadConfig({ ...env, SWITCHBOARD_CONFIG: path }), values).not.toThrow();
    }
  });
});
