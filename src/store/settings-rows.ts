import type { SqlExecutor } from "./sql.js";

/**
 * The `gateway_settings` table: named text values every instance sharing
 * the store reads (the pepper's check, vendor key verdicts, disabled
 * secrets, key rotations), each kind of fact under a name prefix of its own.
 */

export interface SettingsRow {
  name: string;
  value: string;
}

/** The rows whose name starts with `prefix`, compared exactly (LIKE would read "_" in a prefix as a wildcard). */
export async function settingsWithPrefix(db: SqlExecutor, prefix: string): Promise<SettingsRow[]> {
  const rows = await db.query("SELECT name, value FROM gateway_settings WHERE substr(name, 1, $1) = $2", [prefix.length, prefix]);
  return rows.map((row) => ({ name: String(row.name), value: String(row.value) }));
}

/** One row's value, if the row is there. */
export async function settingValue(db: SqlExecutor, name: string): Promise<string | undefined> {
  const [row] = await db.query("SELECT value FROM gateway_settings WHERE name = $1", [name]);
  return row ? String(row.value) : undefined;
}

/** Writes a row: `replace` overwrites one already there; without it, the first write stands (instances racing to record the same fact). */
export function putSetting(db: SqlExecutor, name: string, value: string, { replace }: { replace: boolean }): Promise<number> {
  const conflict = replace ? "DO UPDATE SET value = excluded.value" : "DO NOTHING";
  return db.run(`INSERT INTO gateway_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) ${conflict}`, [name, value]);
}

export function removeSetting(db: SqlExecutor, name: string): Promise<number> {
  return db.run("DELETE FROM gateway_settings WHERE name = $1", [name]);
}
