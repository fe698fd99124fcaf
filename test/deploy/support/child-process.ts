import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** A server process the deployment tests start, stop and kill; its last output is kept for error messages. */
export interface Child {
  readonly process: ChildProcess;
  log(): string;
  /** Resolves when it has exited (at once if it already has). */
  exited(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves once it has exited. */
  kill(): Promise<void>;
}

export function startChild(command: string, args: string[], options: SpawnOptions = {}): Child {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-16_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    process: child,
    log: () => output,
    exited: () => exit,
    async stop(graceMs = 5_000) {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
    async kill() {
      if (running()) child.kill("SIGKILL");
      await exit;
    },
  };
}

/** Polls `ready` until it is true; fails with `what`, and the process's output, after `timeoutMs` or if it exits. */
export async function waitUntil(what: string, ready: () => boolean | Promise<boolean>, options: { timeoutMs?: number; child?: Child; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await Promise.resolve().then(ready).catch(() => false)) return;
    const child = options.child?.process;
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}):\n${options.child!.log()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${options.timeoutMs ?? 30_000} ms${options.child ? `:\n${options.child.log()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
