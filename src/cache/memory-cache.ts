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
  /** The part of both bounds one partition (a key's, a team's, a route's) may hold, in (0, 1]; 1 by default. */
  maxPartitionShare?: number;
  now?: () => number;
  /** Told of each entry dropped to make room ("capacity") or found expired ("expired"). */
  onEvict?: (reason: "capacity" | "expired") => void;
}

/** What an entry costs beyond its bytes: its id, the map's slot, the object. A rough figure, so many tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 160;

/** One partition's entries, least recently used first as in the whole, and their cost. */
interface PartitionUse {
  entries: Map<string, MemoryEntry>;
  bytes: number;
}

/**
 * L1: answers in this process's memory, bounded by entries and by bytes,
 * least recently used out first, each with its own expiry (checked when
 * read; expired entries also go first when room is needed, being the least
 * recently used). A Map keeps insertion order, so moving an entry to the end
 * on each hit makes the first key the least recently used. A partition past
 * its share of either bound makes room from its own entries: one key asking
 * many different questions cannot push every other tenant's answers out.
 *
 * Why not node-cache (which the design names): it has no byte bound (only a
 * key count, and when full it refuses new keys instead of evicting old
 * ones), it deep-clones values on every get and set by default, and it
 * sweeps expiries on a timer. docs/cache.md has the measurement.
 */
export class MemoryCache {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly partitions = new Map<string, PartitionUse>();
  private held = 0;
  private readonly now: () => number;
  private readonly maxPartitionEntries: number;
  private readonly maxPartitionBytes: number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.now = options.now ?? Date.now;
    const share = options.maxPartitionShare ?? 1;
    this.maxPartitionEntries = Math.max(1, Math.floor(options.maxEntries * share));
    this.maxPartitionBytes = Math.floor(options.maxBytes * share);
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
    const partition = this.partitions.get(entry.labels.partition)!.entries;
    partition.delete(id);
    partition.set(id, entry);
    return entry;
  }

  /**
   * Keeps an entry, dropping the least recently used ones for room (its
   * partition's own when the partition is past its share); an entry larger
   * than its partition's share is not kept. Returns whether it was.
   */
  set(id: string, entry: MemoryEntry): boolean {
    const cost = costOf(id, entry);
    if (this.options.maxEntries <= 0 || cost > this.maxPartitionBytes || entry.expiresAt <= this.now()) return false;
    const previous = this.entries.get(id);
    if (previous) this.remove(id, previous);
    this.entries.set(id, entry);
    this.held += cost;
    const partition = this.partitionOf(entry.labels.partition);
    partition.entries.set(id, entry);
    partition.bytes += cost;
    this.evictWhile(partition.entries, () => partition.entries.size > this.maxPartitionEntries || partition.bytes > this.maxPartitionBytes);
    this.evictWhile(this.entries, () => this.entries.size > this.options.maxEntries || this.held > this.options.maxBytes);
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

  /** Drops the least recently used of `lru` while `over` says there is too much. */
  private evictWhile(lru: Map<string, MemoryEntry>, over: () => boolean): void {
    for (const [oldest, victim] of lru) {
      if (!over()) return;
      this.remove(oldest, victim);
      this.options.onEvict?.(victim.expiresAt <= this.now() ? "expired" : "capacity");
    }
  }

  private partitionOf(name: string): PartitionUse {
    let partition = this.partitions.get(name);
    if (!partition) this.partitions.set(name, (partition = { entries: new Map(), bytes: 0 }));
    return partition;
  }

  private remove(id: string, entry: MemoryEntry): void {
    const cost = costOf(id, entry);
    this.entries.delete(id);
    this.held -= cost;
    const partition = this.partitions.get(entry.labels.partition)!;
    partition.entries.delete(id);
    partition.bytes -= cost;
    if (partition.entries.size === 0) this.partitions.delete(entry.labels.partition);
  }
}

function costOf(id: string, entry: MemoryEntry): number {
  return entry.bytes.length + id.length + ENTRY_OVERHEAD_BYTES;
}
