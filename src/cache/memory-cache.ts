/** Who an entry belongs to and what it answers: what purges match on. */
export interface EntryLabels {
  partition: string;
  provider: string;
  model: string;
}

export interface MemoryEntry {
  /** The answer's bytes (answer-codec.ts). */
  bytes: Uint8Array;
  /** Epoch ms. */
  expiresAt: number;
  labels: EntryLabels;
}

export interface MemoryCacheOptions {
  maxEntries: number;
  maxBytes: number;
  now?: () => number;
  /** Told of each entry dropped to make room ("capacity") or found expired ("expired"). */
  onEvict?: (reason: "capacity" | "expired") => void;
}

/** What an entry costs beyond its bytes: its id, the map's slot, the object. A rough figure, so many tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * L1: answers in this process's memory, bounded by entries and by bytes,
 * least recently used out first, each with its own expiry (checked when
 * read; expired entries also go first when room is needed, being the least
 * recently used). A Map keeps insertion order, so moving an entry to the end
 * on each hit makes the first key the least recently used.
 *
 * Why not node-cache (which the design names): it has no byte bound (only a
 * key count, and when full it refuses new keys instead of evicting old
 * ones), it deep-clones values on every get and set by default, and it
 * sweeps expiries on a timer. docs/cache.md has the measurement.
 */
export class MemoryCache {
  private readonly entries = new Map<string, MemoryEntry>();
  private held = 0;
  private readonly now: () => number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held, overheads included. */
  get bytes(): number {
    return this.held;
  }

  get(id: string): MemoryEntry | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(id, entry);
      this.options.onEvict?.("expired");
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  /** Keeps an entry, dropping the least recently used ones for room; an entry larger than the whole cache is not kept. Returns whether it was. */
  set(id: string, entry: MemoryEntry): boolean {
    const cost = costOf(id, entry);
    if (this.options.maxEntries <= 0 || cost > this.options.maxBytes || entry.expiresAt <= this.now()) return false;
    const previous = this.entries.get(id);
    if (previous) this.remove(id, previous);
    this.entries.set(id, entry);
    this.held += cost;
    for (const [oldest, victim] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.held <= this.options.maxBytes) break;
      this.remove(oldest, victim);
      this.options.onEvict?.(victim.expiresAt <= this.now() ? "expired" : "capacity");
    }
    return true;
  }

  /** Drops the entries the filter matches; returns how many. */
  purge(matches: (labels: EntryLabels) => boolean): number {
    let purged = 0;
    for (const [id, entry] of this.entries) {
      if (!matches(entry.labels)) continue;
      this.remove(id, entry);
      purged++;
    }
    return purged;
  }

  private remove(id: string, entry: MemoryEntry): void {
    this.entries.delete(id);
    this.held -= costOf(id, entry);
  }
}

function costOf(id: string, entry: MemoryEntry): number {
  return entry.bytes.length + id.length + ENTRY_OVERHEAD_BYTES;
}
