import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A small tmpfs the test mounts (and fills): a real full, or read-only, file system. */
export interface Tmpfs {
  dir: string;
  /** Writes filler files until the file system has no byte left. */
  fill(): void;
  /** Removes the filler files. */
  free(): void;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `sizeKiB` (read-only with `readOnly`), or returns
 * undefined where mounting needs privileges the test does not have (not root,
 * or a container without CAP_SYS_ADMIN): tests that need one skip there.
 */
export function mountTmpfs(sizeKiB: number, options: { readOnly?: boolean } = {}): Tmpfs | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "sb-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0700${options.readOnly ? ",ro" : ""}`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const fillers: string[] = [];
  return {
    dir,
    fill() {
      // Big pieces first, then single blocks: nothing is left.
      for (const size of [256 * 1024, 4096, 512]) {
        for (;;) {
          const file = join(dir, `filler-${fillers.length}`);
          fillers.push(file);
          try {
            writeFileSync(file, Buffer.alloc(size));
          } catch {
            break;
          }
        }
      }
    },
    free() {
      for (const file of fillers.splice(0)) rmSync(file, { force: true });
    },
    unmount() {
      execFileSync("umount", ["-l", dir], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
