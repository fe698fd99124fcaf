import type { SqlDatabase } from "../store/sql.js";
import { num } from "../store/sql.js";

/**
 * AWS names a secret's versions with UUIDs; key pools, canary verdicts and
 * operators count versions (`primary@v3`). Each version id gets the next
 * number the first time any instance sees it, kept in the shared store so
 * every instance and every restart agrees: a verdict on v3 stays a verdict
 * on that very version. Nothing here is secret (ARNs and version ids).
 */
export class AwsVersionNumbers {
  private readonly known = new Map<string, Map<string, number>>();

  constructor(private readonly db: SqlDatabase) {}

  /** The number of each version id, numbering the new ones in the order given (oldest first). */
  async numbers(secret: string, versionIds: readonly string[]): Promise<Map<string, number>> {
    const cached = this.known.get(secret);
    if (cached && versionIds.every((id) => cached.has(id))) return cached;
    const numbered = await this.db.transaction(async (tx) => {
      // Two instances numbering the same secret at once would both take MAX + 1: one at a time.
      if (tx.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`aws-version-numbers:${secret}`]);
      const rows = await tx.query("SELECT version_id, number FROM aws_secret_versions WHERE secret = $1", [secret]);
      const map = new Map(rows.map((row) => [String(row.version_id), num(row.number)]));
      let next = Math.max(0, ...map.values());
      for (const id of versionIds) {
        if (map.has(id)) continue;
        next++;
        await tx.run("INSERT INTO aws_secret_versions (secret, version_id, number) VALUES ($1, $2, $3)", [secret, id, next]);
        map.set(id, next);
      }
      return map;
    });
    this.known.set(secret, numbered);
    return numbered;
  }

  /** The version id numbered `number`, if any instance has numbered it. */
  async versionId(secret: string, number: number): Promise<string | undefined> {
    for (const [id, n] of this.known.get(secret) ?? []) if (n === number) return id;
    const rows = await this.db.query("SELECT version_id FROM aws_secret_versions WHERE secret = $1 AND number = $2", [secret, number]);
    return rows[0] ? String(rows[0].version_id) : undefined;
  }
}
