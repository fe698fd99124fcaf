import { randomBytes } from "node:crypto";
import { closeSync, futimesSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { processAlive } from "../store/process-alive.js";
import type { LedgerRow } from "./ledger-store.js";

export interface LedgerJournalOptions {
  logger: Logger;
  /** A segment this large is closed and the next one started (the store is slow or down); closed ones go once their rows are stored. */
  segmentBytes?: number;
  /** A journal whose files nobody touched for this long belongs to a dead instance, whatever host it ran on. */
  leaseMs?: number;
  /** Told when appends stop working (a full or failing disk: a crash would lose rows) and when they work again. */
  onStateChange?: (writable: boolean, error?: string) => void;
}

/** A file an earlier run left, now held by this journal as one of its segments (not read yet). */
export interface ClaimedSegment {
  segment: number;
  /** The file it was found as. */
  file: string;
}

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
export interface SegmentRows {
  rows: JournalEntry[];
  /** Lines that were not whole rows: the last line of a run killed mid-write. */
  torn: number;
}

/** Rows an earlier run left unstored, now held by this journal as one of its segments. */
export type RecoveredSegment = ClaimedSegment & SegmentRows;

interface Owner {
  host: string;
  pid: number;
  /** Random per start: two instances never write the same file, even with the same host and pid (containers). */
  token: string;
}

// <host>.<pid>.<token>.<segment>.jsonl; the host has no dots in it (see `ownHost`).
const SEGMENT_FILE = /^([A-Za-z0-9_-]+)\.(\d+)\.([0-9a-f]{12})\.(\d+)\.jsonl$/;

// Journals open in this process: never claimed as orphans, even though their pid is ours.
const openTokens = new Set<string>();

/**
 * The usage ledger's journal: every row is appended to a local file, with one
 * synchronous `write`, before the call's answer is sent. A write lands in the
 * page cache, which outlives the process: after `kill -9` the next start finds
 * the rows that had not reached the store yet and writes them (the store
 * ignores rows it already has, by `rowKey`). Nothing is fsynced, so a machine
 * crash (power, kernel) can lose the rows the kernel had not written back yet.
 *
 * A call that reaches a vendor has a provisional entry here from its first
 * attempt on (`ProvisionalMark`): a call in flight when the process is killed
 * has been sent, and will be billed, though it never gets a row of its own.
 *
 * Files are segments: one line of JSON per row. Once every row of a segment is
 * in the store it is truncated (the current one) or deleted (a closed one), so
 * the journal holds about what the store has not got. Each instance writes its
 * own files, named by host, pid and a token drawn at start: instances sharing a
 * data directory by mistake never write into each other's files. An instance
 * claims (by an atomic rename) the files of instances that are gone: on this
 * host, a pid that is dead or is now its own; on any host, files untouched for
 * `leaseMs` (a live instance touches its current segment well within it).
 */
export class LedgerJournal {
  readonly leaseMs: number;
  private readonly segmentBytes: number;
  private readonly owner: Owner;
  /** Rows of each segment not yet in the store. */
  private readonly pending = new Map<number, number>();
  private current: { segment: number; fd: number; bytes: number };
  private nextSegment = 1;
  /** The last append failed, perhaps halfway: the next one starts on a fresh line. */
  private broken = false;
  private leaseRenewedMs = Date.now();
  private closed = false;
  /** Claimed segments not read yet: their rows are counted as pending when read. */
  private readonly unread = new Set<number>();
  /** Entries that are not journal files we can read, each said once. */
  private readonly skipped = new Set<string>();

  private constructor(
    readonly dir: string,
    private readonly options: LedgerJournalOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.owner = { host: ownHost(), pid: process.pid, token: randomBytes(6).toString("hex") };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.current = this.openSegment();
    openTokens.add(this.owner.token);
  }

  static open(dir: string, options: LedgerJournalOptions): LedgerJournal {
    try {
      return new LedgerJournal(dir, options);
    } catch (err) {
      // No journal, no crash safety: refuse to start rather than lose billed calls quietly.
      throw new ConfigError(dir, "", `cannot hold the usage ledger journal (ledger.journal_dir must be a writable directory): ${(err as Error).message}`);
    }
  }

  /**
   * Appends one row or provisional entry (with its `rowKey`) as a line: one
   * `write` call, a few microseconds. Returns the segment holding it, or 0
   * when it could not be written (logged; the row is then only in memory).
   */
  append(row: JournalEntry): number {
    try {
      if (this.current.bytes >= this.segmentBytes) this.rotate();
      const line = Buffer.from(`${this.broken ? "\n" : ""}${JSON.stringify(row)}\n`);
      for (let written = 0; written < line.length; ) written += writeSync(this.current.fd, line, written);
      this.current.bytes += line.length;
      if (this.broken) {
        this.broken = false;
        this.options.logger.info({ journal: this.dir }, "usage ledger journal writes work again");
        this.options.onStateChange?.(true);
      }
    } catch (err) {
      if (!this.broken) {
        this.broken = true;
        this.options.logger.error({ journal: this.dir, error: (err as Error).message }, "cannot write the usage ledger journal: a crash now would lose the rows not yet stored");
        this.options.onStateChange?.(false, (err as Error).message);
      }
      return 0;
    }
    const segment = this.current.segment;
    this.pending.set(segment, (this.pending.get(segment) ?? 0) + 1);
    return segment;
  }

  /** The store has `rows` rows of `segment` (or they were given up): a segment with none left goes. */
  done(segment: number, rows = 1): void {
    if (segment === 0) return;
    const left = (this.pending.get(segment) ?? 0) - rows;
    if (left > 0) {
      this.pending.set(segment, left);
      return;
    }
    this.pending.delete(segment);
    try {
      if (segment !== this.current.segment) rmSync(this.path(segment), { force: true });
      else if (!this.closed) {
        // Appends are O_APPEND: the next one lands at the start of the emptied file.
        ftruncateSync(this.current.fd, 0);
        this.current.bytes = 0;
      }
    } catch (err) {
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, "could not clear stored rows from the usage ledger journal; they would be replayed (once) after a crash");
    }
  }

  /**
   * Takes over the files of instances that are gone, each as a segment of
   * this journal, without reading them (see `readSegment`). An entry that is
   * not a file, or cannot be claimed, is skipped and said once: the others go on.
   */
  claimOrphanFiles(): ClaimedSegment[] {
    const owners = new Map<string, { owner: Owner; files: { name: string; segment: number }[]; touchedMs: number }>();
    for (const name of readdirSync(this.dir)) {
      const file = parseFileName(name);
      if (!file || openTokens.has(file.owner.token) || this.skipped.has(name)) continue;
      let touchedMs: number;
      try {
        const stat = lstatSync(join(this.dir, name));
        if (!stat.isFile()) {
          this.skip(name, "not a regular file");
          continue;
        }
        touchedMs = stat.mtimeMs;
      } catch {
        continue; // claimed by another instance meanwhile
      }
      const group = owners.get(file.owner.token) ?? { owner: file.owner, files: [], touchedMs: 0 };
      group.files.push({ name, segment: file.segment });
      group.touchedMs = Math.max(group.touchedMs, touchedMs);
      owners.set(file.owner.token, group);
    }
    const claimed: ClaimedSegment[] = [];
    for (const { owner, files, touchedMs } of owners.values()) {
      if (!this.isGone(owner, touchedMs)) continue;
      for (const { name } of files.sort((a, b) => a.segment - b.segment)) {
        const segment = this.nextSegment++;
        try {
          // Atomic: of several instances claiming the same file, one gets it.
          renameSync(join(this.dir, name), this.path(segment));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.skip(name, (err as Error).message);
          continue;
        }
        this.unread.add(segment);
        claimed.push({ segment, file: name });
      }
    }
    return claimed;
  }

  /** Claims the files of instances that are gone and reads them all at once (see `claimOrphanFiles`). */
  claimOrphans(): RecoveredSegment[] {
    return this.claimOrphanFiles()
      .map((claimed) => ({ ...claimed, ...this.readSegment(claimed.segment) }))
      .filter((recovered) => recovered.rows.length > 0 || recovered.torn > 0);
  }

  /** The entries of a claimed segment, read without taking them (the replay reads them with `readSegment`); none if it cannot be read. */
  peekSegment(segment: number): JournalEntry[] {
    try {
      return parseSegment(readFileSync(this.path(segment), "utf8")).rows;
    } catch {
      return [];
    }
  }

  /**
   * The rows of a segment that is not the current one: a claimed file, or one
   * the writer left on disk (rows past its memory). A segment with no row left
   * goes; one that cannot be read is set aside under a name the journal
   * ignores (`.unreadable`), said, and read as empty.
   */
  readSegment(segment: number): SegmentRows {
    let found: SegmentRows;
    try {
      found = parseSegment(readFileSync(this.path(segment), "utf8"));
    } catch (err) {
      this.unread.delete(segment);
      // A segment that never held a row is gone already.
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && !this.pending.has(segment)) return { rows: [], torn: 0 };
      this.options.logger.error({ journal: this.dir, segment, error: (err as Error).message }, "cannot read a usage ledger journal file: set aside as .unreadable, its rows are not replayed");
      try {
        renameSync(this.path(segment), `${this.path(segment)}.unreadable`);
      } catch {
        // Gone, or cannot be moved: the next start tries again.
      }
      this.pending.delete(segment);
      return { rows: [], torn: 0 };
    }
    // A claimed file's rows are pending from now on; the writer's own were counted as they were appended.
    if (this.unread.delete(segment) && found.rows.length > 0) this.pending.set(segment, found.rows.length);
    if (!this.pending.has(segment)) rmSync(this.path(segment), { force: true });
    return found;
  }

  /** Touches the current segment now and then, so that instances on other hosts know this one lives. */
  renewLease(nowMs = Date.now()): void {
    if (this.closed || nowMs - this.leaseRenewedMs < this.leaseMs / 4) return;
    this.leaseRenewedMs = nowMs;
    try {
      futimesSync(this.current.fd, nowMs / 1000, nowMs / 1000);
    } catch (err) {
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, "could not renew the usage ledger journal's lease");
    }
  }

  /** Rows appended (or claimed) and not yet stored. */
  get pendingRows(): number {
    let rows = 0;
    for (const count of this.pending.values()) rows += count;
    return rows;
  }

  /** The segment appends go to now. */
  get currentSegment(): number {
    return this.current.segment;
  }

  /**
   * Starts a new segment (the current one is closed, and goes if none of its
   * rows wait): the writer starts one for rows it keeps on disk only, and
   * closes such a segment before it reads it back. Returns it, or 0 when no
   * file can be opened (said; appends go on to the current one).
   */
  startSegment(): number {
    try {
      this.rotate();
    } catch (err) {
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, "cannot start a new usage ledger journal file");
      return 0;
    }
    return this.current.segment;
  }

  /** Closes the current segment; files with rows not yet stored stay, for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openTokens.delete(this.owner.token);
    closeSync(this.current.fd);
    if (!this.pending.has(this.current.segment)) rmSync(this.path(this.current.segment), { force: true });
  }

  private skip(name: string, reason: string): void {
    this.skipped.add(name);
    this.options.logger.error({ journal: this.dir, file: name, reason }, "skipping an entry of the usage ledger journal that cannot be replayed (the other files are)");
  }

  private isGone(owner: Owner, touchedMs: number): boolean {
    if (Date.now() - touchedMs > this.leaseMs) return true;
    if (owner.host !== this.owner.host) return false;
    // Our own pid under another token: an earlier life (a container's pid 1, or a gateway this process closed).
    return owner.pid === this.owner.pid || !processAlive(owner.pid);
  }

  private rotate(): void {
    const next = this.openSegment();
    const previous = this.current;
    this.current = next;
    closeSync(previous.fd);
    if (!this.pending.has(previous.segment)) rmSync(this.path(previous.segment), { force: true });
  }

  private openSegment(): { segment: number; fd: number; bytes: number } {
    const segment = this.nextSegment++;
    return { segment, fd: openSync(this.path(segment), "a", 0o600), bytes: 0 };
  }

  private path(segment: number): string {
    const { host, pid, token } = this.owner;
    return join(this.dir, `${host}.${pid}.${token}.${segment}.jsonl`);
  }
}

function parseFileName(name: string): { owner: Owner; segment: number } | undefined {
  const [, host, pid, token, segment] = SEGMENT_FILE.exec(name) ?? [];
  if (host === undefined || pid === undefined || token === undefined || segment === undefined) return undefined;
  return { owner: { host, pid: Number(pid), token }, segment: Number(segment) };
}

/** The host name as a file name part: no dots (they separate the parts), nothing odd. */
function ownHost(): string {
  return hostname().replace(/[^A-Za-z0-9-]/g, "_") || "host";
}


const TEXT_FIELDS = ["rowKey", "requestId", "keyId", "team", "method", "provider", "requestedModel", "servedModel", "currency", "status"] as const;
const NUMBER_FIELDS = ["atMs", "promptTokens", "completionTokens", "cachedTokens", "costNanos", "latencyMs"] as const;
const FLAG_FIELDS = ["cacheHit", "downgraded"] as const;

/** The rows of a segment's text; a line that is not a whole row (torn by a crash mid-write) is counted and skipped. */
export function parseSegment(text: string): SegmentRows {
  const rows: JournalEntry[] = [];
  let torn = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      torn++;
      continue;
    }
    if (isJournalEntry(row)) rows.push(row);
    else torn++;
  }
  return { rows, torn };
}

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
