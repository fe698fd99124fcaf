// The dashboard's "Error ratio by surface" panel, evaluated by promtool on
// series of an outage under a flood: what anyone can send without a key (a
// scanner's unknown paths, calls without a key, health probes) must not
// dilute a surface's ratio, and a caller's own deadlines must not raise it.
// The same rule as the SwitchboardHighErrorRatio alert (deploy/prometheus/
// alerts.test.yml tests that one).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { which } from "./prometheus.js";

const ROOT = join(import.meta.dirname, "../..");
const dashboard: { panels: { title: string; targets?: { expr: string }[] }[] } = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/dashboards/switchboard.json"), "utf8"));
const panel = dashboard.panels.find((p) => p.title.startsWith("Error ratio by surface"))!;
/** The panel's query as Grafana runs it with every job and instance, at a 5-minute rate. */
const expr = panel.targets![0]!.expr.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".*").replaceAll("$instance", ".*");

/** A counter growing by `perMinute` for 20 minutes, labelled as the gateway labels switchboard_requests_total. */
const calls = (surface: string, method: string, code: string, perMinute: number) => ({
  series: `switchboard_requests_total{job="switchboard", instance="gw-1:8080", surface="${surface}", method="${method}", code="${code}"}`,
  values: `0+${perMinute}x20`,
});

describe("the dashboard's error ratio panel", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-error-ratio-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is over the calls each surface answered or failed itself: a keyless flood neither dilutes it, nor a caller's deadlines raise it", () => {
    const promtool = which("promtool");
    if (!promtool) throw new Error("promtool is not installed; run `bash scripts/install-test-deps.sh` (Debian's prometheus package)");
    const chat = "REST POST /v1/chat/completions";
    const tests = {
      rule_files: [],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            // REST: half the served calls fail (a provider is down), under a flood of keyless calls.
            calls("rest", chat, "ok", 10),
            calls("rest", chat, "unavailable", 10),
            calls("rest", chat, "unauthenticated", 20_000),
            calls("rest", "REST unknown", "not_found", 10_000),
            calls("unknown", "unknown", "unimplemented", 30_000),
            calls("grpc", "grpc.health.v1.Health/Check", "ok", 10_000),
            // Connect: all served, but a tenant's tight deadlines and hang-ups, and refusals.
            calls("connect", "switchboard.v1.AIService/Chat", "ok", 100),
            calls("connect", "switchboard.v1.AIService/Chat", "deadline_exceeded", 50),
            calls("connect", "switchboard.v1.AIService/Chat", "canceled", 20),
            calls("connect", "switchboard.v1.AIService/Chat", "resource_exhausted", 500),
          ],
          promql_expr_test: [
            {
              expr,
              eval_time: "12m",
              exp_samples: [
                { labels: '{surface="rest"}', value: 0.5 },
                { labels: '{surface="connect"}', value: 0 },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "panel.test.yml"), JSON.stringify(tests));
    const run = spawnSync(promtool, ["test", "rules", "panel.test.yml"], { cwd: dir, encoding: "utf8" });
    expect(`${run.stdout}${run.stderr}`, expr).toContain("SUCCESS");
    expect(run.status).toBe(0);
  });
});
