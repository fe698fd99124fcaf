import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { freePort } from "../../support/services.js";
import { startChild, waitUntil, type Child } from "./child-process.js";

export const NGINX_CONF = join(import.meta.dirname, "../../../deploy/nginx.conf");

/** nginx running deploy/nginx.conf, its upstreams pointed at gateways on loopback. */
export interface Nginx {
  /** HTTP/1.1: Connect, gRPC-Web, REST. */
  readonly httpUrl: string;
  /** HTTP/2 with prior knowledge: gRPC, Connect over h2c. */
  readonly h2cUrl: string;
  /** What nginx logged (errors and each request's upstream), for a failure's message. */
  log(): string;
  /** Every line of nginx's error log so far (a file: the process's own output keeps only its tail). */
  errors(): string[];
  /**
   * Takes gateways (by index) out of the upstreams, or puts them back, as an
   * orchestrator does around a restart: rewrites the file and reloads nginx
   * (SIGHUP), then waits until the old workers have finished their requests
   * and exited, so no connection to a gateway taken out is used any more.
   */
  setDown(down: number[]): Promise<void>;
  /**
   * Waits until nginx answers calls from the gateway at `address` through both
   * upstreams (gRPC and the rest), counting only calls logged after this was
   * called. A refused connection takes an instance out for `fail_timeout`:
   * ready is not yet back in rotation.
   */
  waitUntilServedBy(address: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * deploy/nginx.conf as this machine runs it: `gateway-N:8080` becomes the N-th
 * loopback address, the listeners move to free loopback ports, and files go
 * to `dir`. Fails if the file no longer has the shape this expects, so the
 * test keeps running what the deployment ships.
 */
export function renderNginxConf(source: string, gateways: string[], listen: { http: number; h2c: number }, dir: string, down: ReadonlySet<number> = new Set()): string {
  let conf = source;
  const replace = (pattern: RegExp, by: (match: string, ...groups: string[]) => string, expected: number) => {
    const found = conf.match(new RegExp(pattern.source, `${pattern.flags}g`))?.length ?? 0;
    if (found !== expected) throw new Error(`deploy/nginx.conf: expected ${expected} matches of ${pattern}, found ${found}`);
    conf = conf.replace(new RegExp(pattern.source, `${pattern.flags}g`), by);
  };
  replace(/server gateway-(\d):8080/, (_, n) => `server ${gateways[Number(n) - 1]}${down.has(Number(n) - 1) ? " down" : ""}`, gateways.length * 2);
  replace(/listen 8080;/, () => `listen 127.0.0.1:${listen.http};`, 1);
  replace(/listen 8081 http2;/, () => `listen 127.0.0.1:${listen.h2c} http2;`, 1);
  const local = [
    `client_body_temp_path ${dir}/body;`,
    `proxy_temp_path ${dir}/proxy;`,
    `fastcgi_temp_path ${dir}/fastcgi;`,
    `uwsgi_temp_path ${dir}/uwsgi;`,
    `scgi_temp_path ${dir}/scgi;`,
    `log_format fleet '$msec $request_method $uri $status grpc=$is_grpc upstream=$upstream_addr upstream_status=$upstream_status $request_time';`,
    `access_log ${dir}/access.log fleet;`,
  ];
  replace(/^http \{$/m, (line) => `${line}\n  ${local.join("\n  ")}`, 1);
  return conf;
}

export async function startNginx(gateways: string[], dir: string): Promise<Nginx> {
  const binary = spawnSync("sh", ["-c", "command -v nginx || ls /usr/sbin/nginx"], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  if (!binary) throw new Error("nginx is not installed; run `bash scripts/install-test-deps.sh` (what .ci/run does) to install it");
  mkdirSync(dir, { recursive: true });
  const listen = { http: await freePort(), h2c: await freePort() };
  const conf = join(dir, "nginx.conf");
  const render = (down: ReadonlySet<number>) => writeFileSync(conf, renderNginxConf(readFileSync(NGINX_CONF, "utf8"), gateways, listen, dir, down));
  render(new Set());
  // As root, the workers would otherwise run as nobody, who cannot write the temporary directories.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  const globals = `daemon off; pid ${dir}/nginx.pid; error_log stderr warn; error_log ${dir}/error.log warn; ${user}`;
  const tested = spawnSync(binary, ["-t", "-p", dir, "-c", conf, "-g", globals], { encoding: "utf8" });
  if (tested.status !== 0) throw new Error(`nginx -t refused deploy/nginx.conf:\n${tested.stderr}`);
  const nginx: Child = startChild(binary, ["-p", dir, "-c", conf, "-g", globals]);
  const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => (socket.destroy(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
  await waitUntil("nginx listening", async () => (await listening(listen.http)) && (await listening(listen.h2c)), { child: nginx, timeoutMs: 10_000 });
  return {
    httpUrl: `http://127.0.0.1:${listen.http}`,
    h2cUrl: `http://127.0.0.1:${listen.h2c}`,
    log: () => {
      let access = "";
      try {
        access = readFileSync(join(dir, "access.log"), "utf8").split("\n").slice(-40).join("\n");
      } catch {}
      return `${nginx.log()}\n${access}`;
    },
    async waitUntilServedBy(address) {
      const accessLog = join(dir, "access.log");
      const since = statSync(accessLog).size;
      // The address that answered is the last one tried ("a, b" when nginx moved on from a).
      const servedThrough = (grpc: string) => (line: string) => line.includes(` 200 grpc=${grpc} `) && new RegExp(`upstream=(?:\\S+, )*${address.replace(/\./g, "\\.")} `).test(line);
      await waitUntil(
        `nginx sending calls to ${address} again`,
        () => {
          const lines = readFileSync(accessLog).subarray(since).toString("utf8").split("\n");
          return lines.some(servedThrough("0")) && lines.some(servedThrough("1"));
        },
        { child: nginx, timeoutMs: 20_000, intervalMs: 50 },
      );
    },
    errors: () => readFileSync(join(dir, "error.log"), "utf8").split("\n").filter(Boolean),
    async setDown(down) {
      render(new Set(down));
      const master = nginx.process.pid!;
      const workers = () => spawnSync("ps", ["--ppid", String(master), "-o", "args="], { encoding: "utf8" }).stdout;
      nginx.process.kill("SIGHUP");
      // The new workers are up once the old ones say they are shutting down; then wait for those to be gone.
      await waitUntil("nginx reloaded", () => workers().includes("shutting down"), { child: nginx, timeoutMs: 10_000, intervalMs: 10 });
      await waitUntil("nginx's old workers gone", () => !workers().includes("shutting down"), { child: nginx, timeoutMs: 30_000, intervalMs: 20 });
    },
    close: () => nginx.stop(),
  };
}
