// A real Prometheus (Debian's `prometheus` package) on a free loopback port,
// scraping the given targets every second, with the given rule files loaded.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/services.js";

const SETUP_HINT = "run `bash scripts/install-test-deps.sh` (what .ci/run does) to install it (Debian's prometheus package)";

export interface RunningPrometheus {
  url: string;
  /** An instant query's result vector (or matrix), or the error Prometheus gave. */
  query(expr: string): Promise<{ ok: true; result: { metric: Record<string, string>; value?: [number, string] }[] } | { ok: false; error: string }>;
  get(path: string): Promise<any>;
  stop(): Promise<void>;
}

export function which(command: string): string | undefined {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim() || undefined;
}

export async function startPrometheus(targets: string[], ruleFiles: string[]): Promise<RunningPrometheus> {
  const binary = which("prometheus");
  if (!binary) throw new Error(`prometheus is not installed; ${SETUP_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), "sb-prometheus-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "prometheus.yml"),
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ruleFiles,
      scrape_configs: [{ job_name: "switchboard", metrics_path: "/metrics", static_configs: [{ targets }] }],
    }),
  );
  const child = spawn(
    binary,
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-8000)));
  child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    if (await fetch(`${url}/-/ready`).then((res) => res.ok, () => false)) break;
    if (tries > 300) throw new Error(`prometheus did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const get = async (path: string): Promise<any> => (await fetch(`${url}${path}`)).json();
  return {
    url,
    get,
    async query(expr) {
      const body = await get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return body.status === "success" ? { ok: true, result: body.data.result } : { ok: false, error: `${body.errorType}: ${body.error}` };
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
