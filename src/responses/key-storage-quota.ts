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

/**
 * What each key keeps of stored responses, against its limit. A call
 * reserves the bytes it expects to store when it is admitted, so calls
 * admitted together cannot each store a whole conversation past the limit:
 * a key's total is what the store held when last summed, what this instance
 * stored or deleted since, and what its calls in flight have reserved.
 * Instances sharing the store see each other's writes once they sum again.
 */
export class KeyStorageQuota {
  /** Each key's stored bytes as last summed, plus what this instance stored (and less what it deleted) since. */
  private readonly held = new Map<string, { bytes: number; summedAtMs: number }>();
  /** Each key's bytes reserved by calls in flight on this instance; a key with none has no entry. */
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly maxBytesPerKey: number,
    private readonly now: () => number,
  ) {}

  /** Reserves `bytes` for a response of `keyId`, or refuses (ResourceExhausted) if they would take the key past its limit. */
  async reserve(keyId: string, bytes: number): Promise<StorageReservation> {
    const held = await this.bytesHeld(keyId);
    // Read after the await: reservations made meanwhile count, and nothing runs between this check and the reservation.
    const reserved = this.reserved.get(keyId) ?? 0;
    if (held + reserved + bytes > this.maxBytesPerKey) throw this.full(keyId, held + reserved, bytes);
    this.reserved.set(keyId, reserved + bytes);
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.reserved.get(keyId) ?? 0) - bytes;
        if (left > 0) this.reserved.set(keyId, left);
        else this.reserved.delete(keyId);
      },
    };
  }

  /** Counts a response stored by this instance at once, before the next sum sees it. */
  stored(keyId: string, bytes: number): void {
    const known = this.held.get(keyId);
    if (known) known.bytes += bytes;
  }

  /** Counts a response deleted by this instance at once: a key that deletes to make room gets it now, not at the next sum. */
  deleted(keyId: string, bytes: number): void {
    const known = this.held.get(keyId);
    if (known) known.bytes = Math.max(0, known.bytes - bytes);
  }

  private async bytesHeld(keyId: string): Promise<number> {
    const now = this.now();
    const known = this.held.get(keyId);
    if (known && now - known.summedAtMs < HELD_FRESH_MS) return known.bytes;
    const [row] = await this.db.query("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM stored_responses WHERE key_id = $1 AND expire_ms > $2", [keyId, now]);
    const bytes = num(row?.bytes);
    if (this.held.size >= HELD_KEYS) this.held.clear();
    this.held.set(keyId, { bytes, summedAtMs: now });
    return bytes;
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
