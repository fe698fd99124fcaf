import type { LedgerRow } from "./ledger-store.js";
import { openJournal, SegmentJournal, type ClaimedSegment, type JournalKind, type JournalRows, type SegmentJournalOptions } from "./segment-journal.js";

export type { ClaimedSegment } from "./segment-journal.js";

export type LedgerJournalOptions = SegmentJournalOptions;

/**
 * A call whose first attempt went to a vendor and that has not ended yet: its
 * entry is the row the call is recorded with (status `gateway_exited`) should
 * the process end first, superseded by the call's own row (the same `rowKey`)
 * when it ends. It notes the budget reservation the call holds, to charge the
 * key's spend with it on replay.
 */
export interface ProvisionalMark {
  /** The key's budget period the call reserved in, and the reservation's id on the shared (Redis) counter, if one made it. */
  reservation?: { startMs: number; endMs: number; callId?: string };
}

/** A journal line: a row, or (with `provisional`) a call's provisional entry. */
export type JournalEntry = LedgerRow & { provisional?: ProvisionalMark };

/** A segment's rows, as read back. */
export type SegmentRows = JournalRows<JournalEntry>;

/** Rows an earlier run left unstored, now held by this journal as one of its segments. */
export type RecoveredSegment = ClaimedSegment & SegmentRows;

const LEDGER_JOURNAL: JournalKind<JournalEntry> = {
  name: "usage ledger journal",
  entries: "rows",
  unfinished: "rows not yet stored",
  finished: "stored rows",
  isEntry: isJournalEntry,
};

/**
 * The usage ledger's journal (a `SegmentJournal`): every row is appended to a
 * local file, with one synchronous `write`, before the call's answer is sent,
 * so that after `kill -9` the next start finds the rows that had not reached
 * the store yet and writes them (the store ignores rows it already has, by
 * `rowKey`). Once the store has every row of a segment, it goes.
 *
 * A call that reaches a vendor has a provisional entry here from its first
 * attempt on (`ProvisionalMark`): a call in flight when the process is killed
 * has been sent, and will be billed, though it never gets a row of its own.
 *
 * The writer also starts segments of its own for rows it keeps on disk only
 * (`startSegment`), and reads them back (`readSegment`) once the store
 * catches up.
 */
export class LedgerJournal extends SegmentJournal<JournalEntry> {
  private constructor(dir: string, options: LedgerJournalOptions) {
    super(dir, options, LEDGER_JOURNAL);
  }

  static open(dir: string, options: LedgerJournalOptions): LedgerJournal {
    return openJournal(dir, LEDGER_JOURNAL.name, () => new LedgerJournal(dir, options));
  }
}

const TEXT_FIELDS = ["rowKey", "requestId", "keyId", "team", "method", "provider", "requestedModel", "servedModel", "currency", "status"] as const;
const NUMBER_FIELDS = ["atMs", "promptTokens", "completionTokens", "cachedTokens", "costNanos", "latencyMs"] as const;
const FLAG_FIELDS = ["cacheHit", "downgraded"] as const;

// A row that the store would refuse would hold up every row behind it: only whole rows are replayed.
function isJournalEntry(value: unknown): value is JournalEntry {
  if (typeof value !== "object" || value === null) return false;
  const row = value as Record<string, unknown>;
  return (
    TEXT_FIELDS.every((field) => typeof row[field] === "string") &&
    NUMBER_FIELDS.every((field) => typeof row[field] === "number" && Number.isFinite(row[field])) &&
    FLAG_FIELDS.every((field) => typeof row[field] === "boolean") &&
    (row.surface === undefined || typeof row.surface === "string") &&
    Array.isArray(row.attempts) &&
    (row.provisional === undefined || isProvisionalMark(row.provisional, row.rowKey))
  );
}

// A provisional entry is matched with its call's row by rowKey: without one it could never be superseded.
function isProvisionalMark(value: unknown, rowKey: unknown): value is ProvisionalMark {
  if (typeof value !== "object" || value === null || typeof rowKey !== "string") return false;
  const { reservation } = value as ProvisionalMark;
  if (reservation === undefined) return true;
  return (
    typeof reservation === "object" &&
    reservation !== null &&
    Number.isSafeInteger(reservation.startMs) &&
    Number.isSafeInteger(reservation.endMs) &&
    (reservation.callId === undefined || typeof reservation.callId === "string")
  );
}
