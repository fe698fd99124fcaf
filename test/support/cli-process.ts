import { spawn } from "node:child_process";
import { join } from "node:path";

export interface CliResult {
  /** The exit code; null when it was killed (it had not ended within its time). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real CLI (`switchboard ARGS`, from the sources) in a child process, as
 * an operator runs it, with `input` on its stdin. It is killed if it has not
 * ended within `timeoutMs` (a CLI that hangs fails its test, not the run).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const main = join(import.meta.dirname, "../../src/main.ts");
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { env, stdio: ["pipe", "pipe", "pipe"], timeout: options.timeoutMs ?? 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
