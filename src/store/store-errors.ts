/**
 * Whether the store refused a write for what it holds (a constraint, a value
 * its column cannot take) rather than because it cannot be written at all
 * (down, read-only, full, a failing disk): only the first is the row's fault,
 * and only such a row may be set aside; for anything else the row waits.
 * Postgres says which by SQLSTATE: class 22 (data exception) or 23 (integrity
 * constraint violation). The SQLite build passes on only SQLite's message:
 * those of SQLITE_CONSTRAINT, SQLITE_MISMATCH and SQLITE_TOOBIG.
 */
export function refusedForContent(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  return typeof message === "string" && SQLITE_CONTENT_REFUSAL.test(message);
}

const SQLITE_CONTENT_REFUSAL = /^(?:(?:NOT NULL|UNIQUE|CHECK|FOREIGN KEY|PRIMARY KEY) )?constraint failed|^datatype mismatch$|^string or blob too big$/;
