import { readFileSync } from "node:fs";

/**
 * Whether a process lives, for owner files: a process of another user counts
 * (EPERM), a zombie does not (killed, and not reaped yet by its parent: a
 * supervisor restarting at once must not find its own dead gateway in the way).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return !zombie(pid);
}

function zombie(pid: number): boolean {
  try {
    // "<pid> (<name>) <state> …": the name may hold spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false; // no /proc (not Linux): as alive as kill says
  }
}
