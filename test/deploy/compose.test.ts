import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MAX_BODY_BYTES } from "../../src/api/envelope/json-body.js";
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
  secrets?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(readFileSync(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  secrets?: Record<string, { environment?: string; file?: string }>;
};
interface ScrapeConfig {
  authorization?: { type?: string; credentials_file?: string };
  static_configs: { targets: string[] }[];
}
const prometheusConfig = parse(readFileSync(join(DEPLOY, "prometheus.yml"), "utf8")) as { scrape_configs: ScrapeConfig[] };
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
    const port = 8080; // deploy/switchboard.yaml's server.port (the image sets no PORT, which would win over it)
    for (const upstream of ["switchboard_http", "switchboard_grpc"]) {
      const block = new RegExp(`upstream ${upstream} \\{([^}]*)\\}`).exec(nginxConf)?.[1] ?? "";
      expect([...block.matchAll(/server ([\w-]+):(\d+)/g)].map(([, host, p]) => `${host}:${p}`), upstream).toEqual(GATEWAYS.map((gateway) => `${gateway}:${port}`));
    }
    const listens = [...nginxConf.matchAll(/listen (\d+)/g)].map(([, p]) => p);
    expect(compose.services.proxy!.ports).toEqual(listens.map((p) => `${p}:${p}`));
    expect(compose.services.proxy!.volumes).toContain("./nginx.conf:/etc/nginx/nginx.conf:ro");
    expect(prometheusConfig.scrape_configs[0]!.static_configs[0]!.targets).toEqual(GATEWAYS.map((gateway) => `${gateway}:${port}`));
  });

  it("publishes only the balancer beyond the host: Prometheus, Grafana and Jaeger (key ids, teams, spend, traces) on loopback", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === "proxy") continue;
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it("has Prometheus scrape the gateways with the metrics token they require, from one variable", () => {
    for (const name of GATEWAYS) expect(compose.services[name]!.environment!.SWITCHBOARD_METRICS_TOKEN, name).toMatch(/^\$\{SWITCHBOARD_METRICS_TOKEN:\?.+\}$/);
    const [secret] = Object.entries(compose.secrets ?? {}).find(([, source]) => source.environment === "SWITCHBOARD_METRICS_TOKEN") ?? [];
    expect(secret, "a secret made from SWITCHBOARD_METRICS_TOKEN").toBeDefined();
    expect(compose.services.prometheus!.secrets).toContain(secret);
    const scrape = prometheusConfig.scrape_configs[0]!;
    expect(scrape.authorization?.type ?? "Bearer").toBe("Bearer");
    expect(scrape.authorization?.credentials_file).toBe(`/run/secrets/${secret}`);
  });

  it("sets no password a reader of this file would know: Postgres's and Grafana's come from required variables", () => {
    const required = (variable: string) => new RegExp(`^\\$\\{${variable}:\\?.+\\}$`);
    expect(compose.services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(required("POSTGRES_PASSWORD"));
    for (const name of GATEWAYS) expect(compose.services[name]!.environment!.DATABASE_URL, name).toMatch(/^postgres:\/\/switchboard:\$\{POSTGRES_PASSWORD:\?.+\}@postgres:5432\/switchboard$/);
    expect(compose.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(required("GRAFANA_ADMIN_PASSWORD"));
  });

  it("gives the gateways Vault credentials only when their configuration refers to Vault", () => {
    const usesVault = /\bvault:/.test(readFileSync(DEPLOY_CONFIG, "utf8"));
    for (const name of GATEWAYS) {
      const vaultVariables = Object.keys(compose.services[name]!.environment!).filter((variable) => variable.startsWith("VAULT_"));
      if (usesVault) expect(vaultVariables, name).not.toEqual([]);
      else expect(vaultVariables, `${name}: deploy/switchboard.yaml names no vault: secret`).toEqual([]);
    }
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

describe("deploy/nginx.conf", () => {
  it("takes bodies a little past the gateway's limit, so that the gateway refuses them in the caller's protocol", () => {
    const [, size, unit] = /client_max_body_size (\d+)([kmg]?);/i.exec(nginxConf) ?? [];
    const bytes = Number(size) * ({ "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[(unit ?? "").toLowerCase()]!;
    // A gRPC message of the gateway's limit arrives with its 5-byte frame header.
    expect(bytes).toBeGreaterThan(MAX_BODY_BYTES + 5);
    // Still a limit: nginx reads a REST or Connect body whole before passing it on.
    expect(bytes).toBeLessThanOrEqual(2 * MAX_BODY_BYTES);
  });

  it("answers 404 for /metrics on both listeners, and its header lists no listener as serving it", () => {
    const servers = nginxConf.split(/^  server \{$/m).slice(1);
    expect(servers).toHaveLength(2);
    for (const server of servers) expect(server).toMatch(/location = \/metrics \{\s*return 404;\s*\}/);
    for (const listener of nginxConf.match(/^#\s+808[01]\s+.*$/gm) ?? []) expect(listener).not.toContain("/metrics");
  });
});
