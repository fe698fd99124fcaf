// Child processes for the bench: each pinned to one core, started and stopped,
// and read from /proc for the CPU time and memory it used.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (`getconf CLK_TCK`; 100 on Linux everywhere in practice). */
const TICKS_PER_SECOND = 100;

export interface Started {
  child: ChildProcess;
  port: number;
}

const running: ChildProcess[] = [];

/** Starts `command <args>` pinned to `core` (taskset execs it, so the child's pid is the command's), stopped by stopAll. */
export function spawnPinned(core: number, command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn("taskset", ["-c", String(core), command, ...args], options);
  running.push(child);
  return child;
}

/** Starts `node <args>` pinned to `core` (taskset), and resolves with the port it prints as `"port":N`. */
export function startPinned(core: number, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Started> {
  const child = spawnPinned(core, process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = /"port":(\d+)/.exec(seen);
      if (!match) return;
      child.stdout!.off("data", onData);
      child.stdout!.resume(); // keep draining log lines
      resolve({ child, port: Number(match[1]) });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

/** The process's user + system CPU time so far, in microseconds (fields 14 and 15 of /proc/PID/stat). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
}

/** Resident memory now and at its peak, in MB (VmRSS and VmHWM of /proc/PID/status). */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Stops every child this module started. */
export function stopAll(): void {
  for (const child of running) if (child.exitCode === null) child.kill("SIGTERM");
}

/**
 * Waits (at most `maxMs`) until none of the processes used more than one
 * clock tick of CPU over the last 200 ms: a server that is still flushing its ledger or
 * exporting spans from the previous row would otherwise share the server
 * core with the next row's server and inflate its CPU time.
 */
export async function untilQuiet(pids: readonly number[], maxMs = 10_000): Promise<void> {
  const WINDOW_MS = 200;
  const deadline = Date.now() + maxMs;
  let before = pids.map(cpuMicros);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const now = pids.map(cpuMicros);
    if (now.every((micros, i) => micros - before[i]! <= 1_000_000 / TICKS_PER_SECOND)) return;
    before = now;
  }
}
