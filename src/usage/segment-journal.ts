import { randomBytes } from "node:crypto";
import { closeSync, futimesSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { processAlive } from "../store/process-alive.js";

export interface SegmentJournalOptions {
  logger: Logger;
  /** A segment this large is closed and the next one started; closed ones go once their entries are done. */
  segmentBytes?: number;
  /** A journal whose files nobody touched for this long belongs to a dead instance, whatever host it ran on. */
  leaseMs?: number;
  /** Told when appends stop working (a full or failing disk: a crash would lose entries) and when they work again. */
  onStateChange?: (writable: boolean, error?: string) => void;
}

/** What a journal holds: how its log lines name things, and which lines are whole entries. */
export interface JournalKind<Entry> {
  /** The journal, in log lines and errors: "usage ledger journal". */
  name: string;
  /** Its entries: "rows". */
  entries: string;
  /** Entries a crash would lose while appends fail: "rows not yet stored". */
  unfinished: string;
  /** Entries done with, that a crash would replay: "stored rows". */
  finished: string;
  /** Whether a line read back is a whole entry: one that is not is counted as torn and skipped. */
  isEntry(value: unknown): value is Entry;
}

/** A file an earlier run left, now held by this journal as one of its segments (not read yet). */
export interface ClaimedSegment {
  segment: number;
  /** The file it was found as. */
  file: string;
}

/** A segment's entries, as read back. */
export interface JournalRows<Entry> {
  rows: Entry[];
  /** Lines that were not whole entries: the last line of a run killed mid-write. */
  torn: number;
}

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
 * A local journal of one line of JSON per entry, in segment files of its own
 * run. A `write` lands in the page cache, which outlives the process: after
 * `kill -9` the next start finds the entries that were not done yet. Nothing
 * is fsynced, so a machine crash (power, kernel) can lose the entries the
 * kernel had not written back yet.
 *
 * Once every entry of a segment is done it is truncated (the current one) or
 * deleted (a closed one), so the journal holds about what is not done. Each
 * instance writes its own files, named by host, pid and a token drawn at
 * start: instances sharing a directory by mistake never write into each
 * other's files. An instance claims (by an atomic rename) the files of
 * instances that are gone: on this host, a pid that is dead or is now its
 * own; on any host, files untouched for `leaseMs` (a live instance touches
 * its current segment well within it).
 */
export class SegmentJournal<Entry> {
  readonly leaseMs: number;
  private readonly segmentBytes: number;
  private readonly owner: Owner;
  /** Entries of each segment not done yet. */
  private readonly pending = new Map<number, number>();
  private current: { segment: number; fd: number; bytes: number };
  private nextSegment = 1;
  /** The last append failed, perhaps halfway: the next one starts on a fresh line. */
  private broken = false;
  private leaseRenewedMs = Date.now();
  private closed = false;
  /** Claimed segments not read yet: their entries are counted as pending when read. */
  private readonly unread = new Set<number>();
  /** Directory entries that are not journal files we can read, each said once. */
  private readonly skipped = new Set<string>();

  protected constructor(
    readonly dir: string,
    private readonly options: SegmentJournalOptions,
    private readonly kind: JournalKind<Entry>,
  ) {
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.owner = { host: ownHost(), pid: process.pid, token: randomBytes(6).toString("hex") };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.current = this.openSegment();
    openTokens.add(this.owner.token);
  }

  /**
   * Appends one entry as a line: one `write` call, a few microseconds.
   * Returns the segment holding it, or 0 when it could not be written
   * (logged; the entry is then only in memory).
   */
  append(entry: Entry): number {
    try {
      if (this.current.bytes >= this.segmentBytes) this.rotate();
      const line = Buffer.from(`${this.broken ? "\n" : ""}${JSON.stringify(entry)}\n`);
      for (let written = 0; written < line.length; ) written += writeSync(this.current.fd, line, written);
      this.current.bytes += line.length;
      if (this.broken) {
        this.broken = false;
        this.options.logger.info({ journal: this.dir }, `${this.kind.name} writes work again`);
        this.options.onStateChange?.(true);
      }
    } catch (err) {
      if (!this.broken) {
        this.broken = true;
        this.options.logger.error({ journal: this.dir, error: (err as Error).message }, `cannot write the ${this.kind.name}: a crash now would lose the ${this.kind.unfinished}`);
        this.options.onStateChange?.(false, (err as Error).message);
      }
      return 0;
    }
    const segment = this.current.segment;
    this.pending.set(segment, (this.pending.get(segment) ?? 0) + 1);
    return segment;
  }

  /** `rows` entries of `segment` are done: a segment with none left goes. */
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
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, `could not clear ${this.kind.finished} from the ${this.kind.name}; they would be replayed (once) after a crash`);
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
  claimOrphans(): (ClaimedSegment & JournalRows<Entry>)[] {
    return this.claimOrphanFiles()
      .map((claimed) => ({ ...claimed, ...this.readSegment(claimed.segment) }))
      .filter((recovered) => recovered.rows.length > 0 || recovered.torn > 0);
  }

  /** The entries of a claimed segment, read without taking them (they are taken with `readSegment`); none if it cannot be read. */
  peekSegment(segment: number): Entry[] {
    try {
      return this.parse(readFileSync(this.path(segment), "utf8")).rows;
    } catch {
      return [];
    }
  }

  /**
   * The entries of a segment that is not the current one: a claimed file, or
   * one the writer left on disk (entries past its memory). A segment with no
   * entry left goes; one that cannot be read is set aside under a name the
   * journal ignores (`.unreadable`), said, and read as empty.
   */
  readSegment(segment: number): JournalRows<Entry> {
    let found: JournalRows<Entry>;
    try {
      found = this.parse(readFileSync(this.path(segment), "utf8"));
    } catch (err) {
      this.unread.delete(segment);
      // A segment that never held an entry is gone already.
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && !this.pending.has(segment)) return { rows: [], torn: 0 };
      this.options.logger.error(
        { journal: this.dir, segment, error: (err as Error).message },
        `cannot read a ${this.kind.name} file: set aside as .unreadable, its ${this.kind.entries} are not replayed`,
      );
      try {
        renameSync(this.path(segment), `${this.path(segment)}.unreadable`);
      } catch {
        // Gone, or cannot be moved: the next start tries again.
      }
      this.pending.delete(segment);
      return { rows: [], torn: 0 };
    }
    // A claimed file's entries are pending from now on; the writer's own were counted as they were appended.
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
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, `could not renew the ${this.kind.name}'s lease`);
    }
  }

  /** Entries appended (or claimed) and not done yet. */
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
   * entries wait). Returns it, or 0 when no file can be opened (said; appends
   * go on to the current one).
   */
  startSegment(): number {
    try {
      this.rotate();
    } catch (err) {
      this.options.logger.warn({ journal: this.dir, error: (err as Error).message }, `cannot start a new ${this.kind.name} file`);
      return 0;
    }
    return this.current.segment;
  }

  /** Closes the current segment; files with entries not done yet stay, for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openTokens.delete(this.owner.token);
    closeSync(this.current.fd);
    if (!this.pending.has(this.current.segment)) rmSync(this.path(this.current.segment), { force: true });
  }

  /** A segment's entries; a line that is not a whole entry (torn by a crash mid-write) is counted and skipped. */
  private parse(text: string): JournalRows<Entry> {
    const rows: Entry[] = [];
    let torn = 0;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        torn++;
        continue;
      }
      if (this.kind.isEntry(entry)) rows.push(entry);
      else torn++;
    }
    return { rows, torn };
  }

  private skip(name: string, reason: string): void {
    this.skipped.add(name);
    this.options.logger.error({ journal: this.dir, file: name, reason }, `skipping an entry of the ${this.kind.name} that cannot be replayed (the other files are)`);
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

/**
 * Opens a journal in `ledger.journal_dir` (or a directory under it). No
 * journal, no crash safety: the start is refused rather than lose what it
 * keeps quietly.
 */
export function openJournal<J>(dir: string, name: string, open: () => J): J {
  try {
    return open();
  } catch (err) {
    throw new ConfigError(dir, "", `cannot hold the ${name} (ledger.journal_dir must be a writable directory): ${(err as Error).message}`);
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
