import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSwitchboard, type Switchboard } from "../../src/app.js";
import { buildConfig } from "../../src/config/load-config.js";
import type { ConfigFile } from "../../src/config/schema.js";
import { LogCapture, MASTER_KEY } from "../support/gateway.js";

// deploy/Dockerfile's HEALTHCHECK, run as Docker runs it (in the WORKDIR, with the files the final
// stage copies from the build context) against gateways in this process: one in plain HTTP, one
// whose configuration sets server.tls, where the port speaks nothing but TLS.

const ROOT = join(import.meta.dirname, "../..");
const DOCKERFILE = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8").replace(/\\\r?\n\s*/g, " ");

let dir: string;
let workdir: string;
const gateways: Switchboard[] = [];

/** The final stage's HEALTHCHECK command (exec form), and a WORKDIR holding what that stage COPYs from the context. */
function imageHealthcheck(): string[] {
  const finalStage = DOCKERFILE.slice(DOCKERFILE.lastIndexOf("\nFROM "));
  for (const [, source, target] of finalStage.matchAll(/^COPY\s+(?!--from)(\S+)\s+(\S+)\s*$/gm)) symlinkSync(join(ROOT, source!), join(workdir, target!));
  const command = /^HEALTHCHECK\s+(?:--\S+\s+)*CMD\s+(\[.*\])\s*$/m.exec(finalStage)?.[1];
  if (!command) throw new Error("deploy/Dockerfile has no HEALTHCHECK CMD in the exec form");
  return JSON.parse(command) as string[];
}

/** The final stage's ENV: what every container of the image starts with. */
function imageEnvironment(): Record<string, string> {
  const finalStage = DOCKERFILE.slice(DOCKERFILE.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  for (const [, args] of finalStage.matchAll(/^ENV\s+(.*)$/gm)) for (const [, name, value] of args!.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[name!] = value!.replace(/^"|"$/g, "");
  return env;
}

/** A gateway on a free loopback port, its configuration file at `configPath` (as SWITCHBOARD_CONFIG would name it). */
async function startGateway(name: string, file: ConfigFile): Promise<{ port: number; configPath: string }> {
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(configPath, JSON.stringify(file));
  const dataDir = join(dir, name);
  mkdirSync(dataDir);
  const config = buildConfig(file, { PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_MASTER_KEY: MASTER_KEY }, configPath);
  const app = await createSwitchboard(config, { env: { SWITCHBOARD_MASTER_KEY: MASTER_KEY }, logDestination: new LogCapture(), defaultMetrics: false });
  gateways.push(app);
  return { port: (await app.listen()).port, configPath };
}

/** Runs the HEALTHCHECK with the container's environment; resolves to its exit code. */
function healthcheck(command: string[], env: Record<string, string>): Promise<number> {
  const [program, ...args] = command;
  return new Promise((done) => {
    execFile(program!, args, { cwd: workdir, env: { PATH: process.env.PATH!, ...env } }, (err) => done(err ? ((err as { code?: number }).code ?? 1) : 0));
  });
}

let command: string[];
let plain: { port: number; configPath: string };
let tls: { port: number; configPath: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-healthcheck-"));
  workdir = join(dir, "app");
  mkdirSync(workdir);
  command = imageHealthcheck();
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=switchboard", "-addext", "subjectAltName=DNS:switchboard",
    "-keyout", join(dir, "tls.key"), "-out", join(dir, "tls.crt"),
  ], { stdio: "ignore" });
  plain = await startGateway("plain", { server: { shutdown_grace_ms: 0 } });
  tls = await startGateway("tls", { server: { tls: { cert_file: join(dir, "tls.crt"), key_file: join(dir, "tls.key") } } });
});
afterAll(async () => {
  await Promise.all(gateways.map((app) => app.shutdown()));
  rmSync(dir, { recursive: true, force: true });
});

describe("the image's HEALTHCHECK", () => {
  it("passes against a ready gateway in plain HTTP", async () => {
    expect(await healthcheck(command, { PORT: String(plain.port), SWITCHBOARD_CONFIG: plain.configPath })).toBe(0);
  });

  it("passes against a ready gateway whose configuration sets server.tls, over HTTPS (a certificate for the service's name, not 127.0.0.1)", async () => {
    expect(await healthcheck(command, { PORT: String(tls.port), SWITCHBOARD_CONFIG: tls.configPath })).toBe(0);
  });

  it("takes the port from the configuration file when PORT is unset, as the gateway does", async () => {
    const configPath = join(dir, "port-in-file.yaml");
    writeFileSync(configPath, JSON.stringify({ server: { port: tls.port, tls: { cert_file: join(dir, "tls.crt"), key_file: join(dir, "tls.key") } } }));
    expect(await healthcheck(command, { SWITCHBOARD_CONFIG: configPath })).toBe(0);
  });

  it("fails when the port does not speak what the configuration says", async () => {
    // The plain gateway's port, asked in TLS: no answer.
    expect(await healthcheck(command, { PORT: String(plain.port), SWITCHBOARD_CONFIG: tls.configPath })).not.toBe(0);
  });
});

describe("the image's environment", () => {
  it("leaves the port to a mounted configuration's server.port (the environment wins over the file), and 8080 without one", () => {
    const env = imageEnvironment();
    expect(env.NODE_ENV).toBe("production");
    expect(buildConfig({ server: { port: 9000 } }, env, "/etc/switchboard/switchboard.yaml").server.port).toBe(9000);
    expect(buildConfig({}, env, "environment").server.port).toBe(8080);
  });
});
