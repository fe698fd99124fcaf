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
  const { code, message } = described(err);
  if (code !== undefined && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  return message !== undefined && SQLITE_CONTENT_REFUSAL.test(message);
}

/**
 * Whether the store cannot be reached or cannot take statements now, through
 * no fault of the statement: its server down, restarting or refusing
 * connections, a connection lost or timed out, the pool closed (a shutdown),
 * too many connections, a full or read-only database. A retry later may
 * succeed, so callers are told Unavailable, not Internal. Postgres says so by
 * SQLSTATE class 08 (connection exception), 53 (insufficient resources), 57
 * (operator intervention: shutdown, cancelled by a timeout) or 25006 (read
 * only); the network by errno; pg and SQLite by message alone.
 */
export function storeUnavailable(err: unknown): boolean {
  const { code, message } = described(err);
  if (code !== undefined && (NETWORK_ERRNOS.has(code) || /^(08|53|57)[0-9A-Z]{3}$/.test(code) || code === "25006")) return true;
  return message !== undefined && UNAVAILABLE_MESSAGE.test(message);
}

/** A driver error's code (SQLSTATE or errno) and message, when it has them. */
function described(err: unknown): { code?: string; message?: string } {
  if (typeof err !== "object" || err === null) return {};
  const { code, message } = err as { code?: unknown; message?: unknown };
  return { code: typeof code === "string" ? code : undefined, message: typeof message === "string" ? message : undefined };
}

const SQLITE_CONTENT_REFUSAL = /^(?:(?:NOT NULL|UNIQUE|CHECK|FOREIGN KEY|PRIMARY KEY) )?constraint failed|^datatype mismatch$|^string or blob too big$/;

const NETWORK_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

// pg's own (a lost or timed-out connection, a statement unanswered past query_timeout, a pool ended at shutdown) and
// SQLite's SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY and SQLITE_CANTOPEN.
const UNAVAILABLE_MESSAGE =
  /^Connection terminated|^timeout exceeded when trying to connect|^Query read timeout|^Cannot use a pool after calling end on the pool|is not queryable|^database is locked|^disk I\/O error|^database or disk is full|^attempt to write a readonly database|^unable to open database file/;
