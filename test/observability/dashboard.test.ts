// The Grafana dashboard and the alert rules, proven without Grafana: a real
// Prometheus scrapes two gateway instances (sharing Postgres and Redis, as a
// fleet does) while calls flow on every surface, with retries, failovers,
// hedges, a vendor key the vendor rejects, rate-limit and budget refusals.
// Then every panel's query runs through Prometheus's HTTP API with the
// dashboard's variables substituted, and none may fail or come back empty.
// The alert rules load into that Prometheus and pass their promtool unit tests.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ConfigFile } from "../../src/config/schema.js";
import type { Scripted } from "../fakes/fake-server.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { createPostgresDatabase, redisPrefix, tempDir } from "../support/stores.js";
import { TEST_PRICING } from "../support/usage-setup.js";
import { startPrometheus, which, type RunningPrometheus } from "./prometheus.js";

const ROOT = join(import.meta.dirname, "../..");
const ALERTS = join(ROOT, "deploy/prometheus/alerts.yml");

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: { query: string } }[] };
}
const dashboard: Dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/dashboards/switchboard.json"), "utf8"));

/** Each variable as Grafana would substitute it with "All" selected; $__rate_interval as four 15 s scrapes. */
const VARIABLES: Record<string, string> = { job: "switchboard", instance: ".*", provider: ".*", team: ".*", __rate_interval: "1m" };
const substitute = (expr: string): string => expr.replace(/\$(\w+)/g, (whole, name: string) => VARIABLES[name] ?? whole);

const overloaded: Scripted = { kind: "error", status: 503, body: { error: { message: "The server is overloaded", type: "server_error" } } };
const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

describe("the Grafana dashboard against a real Prometheus scraping two gateways", () => {
  let main: OpenAIFake;
  let flaky: OpenAIFake;
  let slow: OpenAIFake;
  let gateways: TestGateway[] = [];
  let prometheus: RunningPrometheus;
  let dropDatabase = async () => {};
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    const redis = requireService("SWITCHBOARD_TEST_REDIS_URL");
    const db = await createPostgresDatabase();
    dropDatabase = db.drop;
    main = await startOpenAIFake({ apiKey: "sk-main-good" });
    flaky = await startOpenAIFake({ apiKey: "sk-flaky" });
    slow = await startOpenAIFake({ apiKey: "sk-slow" });
    const file: ConfigFile = {
      providers: {
        // The vendor refuses the second key (401): the pool disables it, and calls move to the first.
        openai: { dialect: "openai", base_url: main.baseUrl, keys: [{ id: "good", secret: "env:MAIN_KEY", weight: 1 }, { id: "revoked", secret: "env:REVOKED_KEY", weight: 1 }] },
        flaky: { dialect: "openai", base_url: flaky.baseUrl, api_key: "env:FLAKY_KEY" },
        hedged: { dialect: "openai", base_url: slow.baseUrl, api_key: "env:SLOW_KEY", hedge: { delay_ms: 20 } },
      },
      routes: [
        { model: "gpt-4o-mini", provider: "openai" },
        { model: "flaky-model", provider: "flaky", upstream_model: "gpt-4o-mini", fallbacks: ["openai/gpt-4o-mini"] },
        { model: "hedged-model", provider: "hedged", upstream_model: "gpt-4o-mini" },
      ],
      traffic: { retry: { base_delay_ms: 1, max_delay_ms: 5 } },
      pricing: TEST_PRICING,
      ledger: { flush_interval_ms: 50 },
    };
    const env = {
      MAIN_KEY: "sk-main-good",
      REVOKED_KEY: "sk-main-revoked",
      FLAKY_KEY: "sk-flaky",
      SLOW_KEY: "sk-slow",
      DATABASE_URL: db.url,
      REDIS_URL: redis,
      REDIS_PREFIX: redisPrefix(),
      SWITCHBOARD_PEPPER: "a-shared-pepper-for-every-instance",
      SWITCHBOARD_METRICS_KEYS: "beta-app",
    };
    for (let i = 0; i < 2; i++) gateways.push(await startGateway({ ...env, SWITCHBOARD_DATA_DIR: tempDir("sb-dashboard-") }, file));
    const admin = createClient(AdminService, gateways[0]!.transport("connect"));
    const keys = [
      { keyId: "alpha-app", key: { displayName: "alpha", team: "alpha", requestsPerMinute: 30 } },
      { keyId: "beta-app", key: { displayName: "beta", team: "beta", budget: { limit: { units: 0n, nanos: 50_000_000 } } } },
      { keyId: "gamma-app", key: { displayName: "gamma", team: "gamma" } },
    ];
    for (const request of keys) secrets[request.keyId] = (await admin.createKey(request)).secret;
    prometheus = await startPrometheus(
      gateways.map((gw) => `127.0.0.1:${gw.port}`),
      [ALERTS],
    );
  });
  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(gateways.map((gw) => gw.stop().catch(() => {})));
    await Promise.all([main, flaky, slow].map((fake) => fake?.close()));
    await dropDatabase();
  });

  it("answers every panel's query with data after traffic on both instances; the metrics pass promtool check metrics", async () => {
    await sendTraffic(gateways, secrets, { flaky, slow });
    // Wait until Prometheus has scraped every call both instances counted, then two scrapes more
    // of each instance: every series then has the samples rate() needs.
    let served = 0;
    for (const gw of gateways) served += (await gw.app.metrics.requests.get()).values.reduce((sum, v) => sum + v.value, 0);
    await until(`Prometheus to see the ${served} calls`, async () => {
      const seen = await prometheus.query('sum(switchboard_requests_total{job="switchboard"})');
      return seen.ok && Number(seen.result[0]?.value?.[1] ?? 0) >= served;
    });
    const lastScrape = async () => {
      const scrapes = await prometheus.query('min(timestamp(up{job="switchboard"}))');
      return scrapes.ok ? Number(scrapes.result[0]?.value?.[1] ?? 0) : 0;
    };
    const counted = await lastScrape();
    await until("two more scrapes of each instance", async () => (await lastScrape()) >= counted + 2);

    // The variables list what they should: both instances among them.
    for (const variable of dashboard.templating.list.filter((v) => v.type === "query")) {
      const [, metric, label] = /^label_values\((.+), (\w+)\)$/.exec(variable.query!.query)!;
      const body = await prometheus.get(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(substitute(metric!))}`);
      expect(body.data, `variable ${variable.name}`).not.toEqual([]);
      if (variable.name === "instance") expect(body.data).toEqual(expect.arrayContaining(gateways.map((gw) => `127.0.0.1:${gw.port}`)));
    }

    const panels = dashboard.panels.filter((panel) => panel.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(30);
    const failures: string[] = [];
    let queries = 0;
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        queries++;
        const answer = await prometheus.query(substitute(target.expr));
        if (!answer.ok) failures.push(`${panel.title}: ${answer.error}\n    ${target.expr}`);
        else if (answer.result.length === 0) failures.push(`${panel.title}: no data\n    ${target.expr}`);
      }
    }
    expect(failures, `${failures.length} of ${queries} queries failed:\n${failures.join("\n")}`).toEqual([]);

    // What Prometheus scraped is what promtool accepts.
    for (const gw of gateways) {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(`${lint.stdout}${lint.stderr}`.trim(), "promtool check metrics").toBe("");
      expect(lint.status).toBe(0);
    }
  });

  it("loads the alert rules into Prometheus, evaluates them without error, and passes their promtool unit tests", async () => {
    type Rule = { name: string; health: string; lastEvaluation: string };
    const ALERT_RULES = readFileSync(join(ROOT, "deploy/prometheus/alerts.yml"), "utf8").match(/^\s+- alert: /gm)!.length;
    let rules: Rule[] = [];
    await until("every alert rule evaluated", async () => {
      rules = (await prometheus.get("/api/v1/rules")).data.groups.flatMap((group: { rules: Rule[] }) => group.rules);
      return rules.length === ALERT_RULES && rules.every((rule) => !rule.lastEvaluation.startsWith("0001"));
    });
    expect(rules.map((rule) => `${rule.name}: ${rule.health}`)).toEqual(rules.map((rule) => `${rule.name}: ok`));
    const promtool = which("promtool")!;
    const run = spawnSync(promtool, ["test", "rules", "alerts.test.yml"], { cwd: join(ROOT, "deploy/prometheus"), encoding: "utf8" });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});

/** Waits (polling) until `done` holds; what it waited for is named if it never does. */
async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * Calls on every surface, alternating the two instances, bounded in count:
 * chat (Connect) under a key with a rate limit, streams (gRPC) on a route
 * whose first vendor fails now and then (retries, failovers), streams (REST)
 * under a key with a small budget, and unary calls (REST) to a hedged
 * provider whose first attempt sometimes hangs.
 */
async function sendTraffic(gateways: TestGateway[], secrets: Record<string, string>, fakes: { flaky: OpenAIFake; slow: OpenAIFake }): Promise<void> {
  const clients = (key: string, protocol: "connect" | "grpc"): Client<typeof AIService>[] => gateways.map((gw) => gw.client(protocol, key));
  const alpha = clients(secrets["alpha-app"]!, "connect");
  const gamma = clients(secrets["gamma-app"]!, "grpc");
  const rest = (gw: TestGateway, key: string, body: object) =>
    fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then((res) =>
      res.text(),
    );
  const settle = (promise: Promise<unknown>) => promise.then(() => undefined, () => undefined);
  for (let round = 0; round < 40; round++) {
    const at = round % 2;
    const gw = gateways[at]!;
    if (round % 4 === 1) fakes.flaky.enqueue(overloaded);
    if (round % 8 === 3) fakes.flaky.enqueue(overloaded, overloaded, overloaded);
    if (round % 5 === 2) fakes.slow.enqueue({ kind: "hang" });
    await Promise.all([
      settle(alpha[at]!.chat(hi("gpt-4o-mini"))),
      settle(
        (async () => {
          for await (const _ of gamma[at]!.chatStream(hi("flaky-model")));
        })(),
      ),
      settle(rest(gw, secrets["beta-app"]!, { ...hi("gpt-4o-mini"), messages: [{ role: "user", content: "hi" }], stream: true })),
      settle(rest(gw, secrets["gamma-app"]!, { model: "hedged-model", messages: [{ role: "user", content: "hi" }] })),
    ]);
  }
}
