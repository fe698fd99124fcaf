import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

/** A gateway run as `npm start` runs it: the real CLI entry point in a child process. */
export interface GatewayProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Waits until it listens; resolves to its base URL. */
  listening(): Promise<string>;
}

export function spawnGateway(env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    cwd: join(import.meta.dirname, "../.."),
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: "0", SWITCHBOARD_METRICS_REUSE_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async listening() {
      // Generous: a cold `tsx` start on a busy machine takes seconds.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const port = /"port":(\d+)/.exec(output)?.[1];
        if (port) return `http://127.0.0.1:${port}`;
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start listening:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
