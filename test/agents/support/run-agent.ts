import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { usageCommand } from "../../../src/cli/usage-command.js";
import { MASTER_KEY, type TestGateway } from "../../support/gateway.js";

export const ROOT = join(import.meta.dirname, "../../..");

/** What the file an agent is asked about says: its answer must carry it. */
export const SECRET = "the secret word is pomegranate";

/** A fresh directory for an agent to work (and live: its HOME) in, holding notes.txt. */
export function agentWorkspace(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, "notes.txt"), `${SECRET}\n`);
  return dir;
}

/** The text of the last user message a Chat Completions vendor got, as the fake echoes it. */
export function lastUserText(body: Record<string, any>): string {
  const user = [...body.messages].reverse().find((m: { role: string }) => m.role === "user");
  if (typeof user.content === "string") return user.content;
  return user.content
    .filter((p: { type: string }) => p.type === "text")
    .map((p: { text: string }) => p.text)
    .join(" ");
}

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A coding agent's CLI, run to its end with nothing on stdin (both wait for stdin otherwise); killed after `timeoutMs`. */
export function runAgent(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A file of an npm devDependency, failing (never skipping) with the command to run when it is missing. */
export function installed(path: string): string {
  const full = join(ROOT, "node_modules", path);
  expect(existsSync(full), `node_modules/${path} is missing: run \`npm ci\``).toBe(true);
  return full;
}

/** What `switchboard usage --json` says of the calls on one surface, as the operator would run it. */
export async function usageOnSurface(gw: TestGateway, surface: string): Promise<{ total: { requests: number }; rows: Record<string, unknown>[] }> {
  let out = "";
  const stdout = { write: (chunk: string) => ((out += chunk), true) } as unknown as NodeJS.WritableStream;
  const code = await usageCommand(["--surface", surface, "--by", "surface,provider", "--json"], { stdout, stderr: stdout, env: { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY } });
  expect(code, out).toBe(0);
  return JSON.parse(out);
}
