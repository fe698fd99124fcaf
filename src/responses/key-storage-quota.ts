import { Code } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import { num, type SqlDatabase } from "../store/sql.js";
import { sizeOf } from "./size-of.js";

/** How long a key's stored total is taken as read before it is summed again (other instances' writes show within this). */
const HELD_FRESH_MS = 5_000;
/** Keys whose totals are remembered at once; past it the memory starts over (each total is one query away). */
const HELD_KEYS = 10_000;

/** Room a call holds for the response it may store; released once it is stored, or when nothing will be. */
export interface StorageReservation {
  readonly bytes: number;
  /** Gives the room back; the second call does nothing. */
  release(): void;
}

/** A sum of a key's stored bytes being read, and what this instance committed meanwhile (the read may not see it). */
interface Summing {
  committedMeanwhile: number;
  readonly done: Promise<HeldBytes>;
}

interface HeldBytes {
  bytes: number;
  readonly summedAtMs: number;
}

/**
 * What each key keeps of stored responses, against its limit. A call
 * reserves the bytes it expects to store when it is admitted, so calls
 * admitted together cannot each store a whole conversation past the limit:
 * a key's total is what the store held when last summed, what this instance
 * committed (less what it deleted) since, what it is writing, and what its
 * calls in flight have reserved. Instances sharing the store see each
 * other's writes once they sum again.
 *
 * A sum never forgets a write of this instance: one it may not see (committed
 * while the sum was read) is added to it, and one not yet committed is
 * counted as being written until it is. Both may count a write twice until
 * the next sum; never zero times.
 */
export class KeyStorageQuota {
  /** Each key's stored bytes as last summed, plus what this instance committed (and less what it deleted) since. */
  private readonly held = new Map<string, HeldBytes>();
  /** Each key's sum being read, shared by the calls that wait for it. */
  private readonly summing = new Map<string, Summing>();
  /** Each key's bytes this instance is writing, not yet committed; a key with none has no entry. */
  private readonly writing = new Map<string, number>();
  /** Each key's bytes reserved by calls in flight on this instance; a key with none has no entry. */
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly maxBytesPerKey: number,
    private readonly now: () => number,
  ) {}

  /** Reserves `bytes` for a response of `keyId`, or refuses (ResourceExhausted) if they would take the key past its limit. */
  async reserve(keyId: string, bytes: number): Promise<StorageReservation> {
    const held = await this.heldBy(keyId);
    // Read after the await: what was reserved, written or committed meanwhile counts, and nothing runs between this check and the reservation.
    const kept = held.bytes + (this.writing.get(keyId) ?? 0) + (this.reserved.get(keyId) ?? 0);
    if (kept + bytes > this.maxBytesPerKey) throw this.full(keyId, kept, bytes);
    add(this.reserved, keyId, bytes);
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        add(this.reserved, keyId, -bytes);
      },
    };
  }

  /** Counts a response this instance is writing: as being written until `write` settles, then as held if it committed. */
  async storing(keyId: string, bytes: number, write: Promise<void>): Promise<void> {
    add(this.writing, keyId, bytes);
    try {
      await write;
      // In the same step as it stops being counted as written: no moment counts it nowhere.
      const known = this.held.get(keyId);
      if (known) known.bytes += bytes;
      const summing = this.summing.get(keyId);
      if (summing) summing.committedMeanwhile += bytes;
    } finally {
      add(this.writing, keyId, -bytes);
    }
  }

  /** Counts a response deleted by this instance at once: a key that deletes to make room gets it now, not at the next sum. */
  deleted(keyId: string, bytes: number): void {
    const known = this.held.get(keyId);
    if (known) known.bytes = Math.max(0, known.bytes - bytes);
  }

  /** The key's held bytes, summed again once older than HELD_FRESH_MS; calls that need a sum meanwhile share it. */
  private heldBy(keyId: string): HeldBytes | Promise<HeldBytes> {
    const known = this.held.get(keyId);
    if (known && this.now() - known.summedAtMs < HELD_FRESH_MS) return known;
    const running = this.summing.get(keyId);
    if (running) return running.done;
    const summing: Summing = { committedMeanwhile: 0, done: this.sum(keyId, () => summing.committedMeanwhile) };
    this.summing.set(keyId, summing);
    return summing.done;
  }

  private async sum(keyId: string, committedMeanwhile: () => number): Promise<HeldBytes> {
    const now = this.now();
    try {
      const [row] = await this.db.query("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM stored_responses WHERE key_id = $1 AND expire_ms > $2", [keyId, now]);
      const held = { bytes: num(row?.bytes) + committedMeanwhile(), summedAtMs: now };
      if (this.held.size >= HELD_KEYS) this.held.clear();
      this.held.set(keyId, held);
      return held;
    } finally {
      this.summing.delete(keyId);
    }
  }

  private full(keyId: string, kept: number, wanted: number) {
    return gatewayError(
      Code.ResourceExhausted,
      `this key keeps ${sizeOf(kept)} of stored responses and this call would store ${sizeOf(wanted)} more, past its limit of ${sizeOf(this.maxBytesPerKey)}: delete some (DELETE /v1/responses/{id}), let them expire, or send store: false`,
      "RESPONSES_STORAGE_FULL",
      { key: keyId, limit_bytes: String(this.maxBytesPerKey) },
    );
  }
}

/** Adds `delta` to a key's count, dropping the entry when it reaches zero. */
function add(counts: Map<string, number>, keyId: string, delta: number): void {
  const total = (counts.get(keyId) ?? 0) + delta;
  if (total > 0) counts.set(keyId, total);
  else counts.delete(keyId);
}
