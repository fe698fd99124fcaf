import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where a generated master key waits for the operator when stderr is not a terminal. */
export const GENERATED_MASTER_KEY_FILE = "master-key.generated";

/**
 * Hands a master key generated at first start to the operator, once. On a
 * terminal it is printed; otherwise stderr is collected into logs (docker,
 * systemd, Kubernetes), so the key goes to a file only this user can read and
 * only the file's path is printed.
 */
export function showGeneratedMasterKey(dataDir: string, key: string | undefined, stderr: Pick<NodeJS.WriteStream, "write" | "isTTY"> = process.stderr): void {
  if (!key) return;
  const replace = `to replace it, delete ${join(dataDir, "master-key.digest")} and restart.`;
  if (stderr.isTTY) {
    stderr.write(`\nNo SWITCHBOARD_MASTER_KEY was set, so one was generated. It is shown only this once:\n\n  ${key}\n\nKeep it somewhere safe; ${replace}\n\n`);
    return;
  }
  const file = join(dataDir, GENERATED_MASTER_KEY_FILE);
  // A file left by an earlier key goes first: "wx" creates the new one 0600 and never writes through a link.
  rmSync(file, { force: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  stderr.write(
    `\nNo SWITCHBOARD_MASTER_KEY was set, so one was generated. It is not printed, since stderr is not a terminal: it is in ${file}, readable by this user only.\n` +
      `Move it somewhere safe and delete that file (or set SWITCHBOARD_MASTER_KEY instead); ${replace}\n\n`,
  );
}
