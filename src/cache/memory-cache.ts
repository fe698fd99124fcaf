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
  /**
   * The gateway key whose call put it here (its answer, or an L2 entry its
   * read filled), named as its own partition (`key:{id}`); the entry's
   * partition when not said.
   */
  writer?: string;
  /** The writer's tenant: its team (`team:{team}`), or the writer itself (the default) for a key without a team. */
  tenant?: string;
}

export interface MemoryCacheOptions {
  maxEntries: number;
  maxBytes: number;
  /** The part of both bounds one partition (a key's, a team's, a route's) may hold, in (0, 1]; 1 by default. */
  maxPartitionShare?: number;
  /** The part of both bounds the entries one writer put in may hold, across every partition, in (0, 1]; `maxPartitionShare` by default. */
  maxWriterShare?: number;
  /** The part of both bounds the entries one tenant's writers (a team's keys) put in may hold together, in (0, 1]; 1 by default. */
  maxTeamShare?: number;
  now?: () => number;
  /** Told of each entry dropped to make room ("capacity") or found expired ("expired"). */
  onEvict?: (reason: "capacity" | "expired") => void;
}

/** What an entry costs beyond its bytes: its id, the map's slot, the object. A rough figure, so many tiny entries still count. */
const ENTRY_OVERHEAD_BYTES = 160;

/** The entries of one partition, of one writer, or of one tenant: least recently used first as in the whole, and their cost. */
interface Group {
  entries: Map<string, MemoryEntry>;
  bytes: number;
}

/** Entries grouped by one name (their partition, their writer, their tenant), each group held to its share of both bounds. */
interface Grouping {
  nameOf(entry: MemoryEntry): string;
  groups: Map<string, Group>;
  maxEntries: number;
  maxBytes: number;
}

/**
 * L1: answers in this process's memory, bounded by entries and by bytes,
 * least recently used out first, each with its own expiry (checked when
 * read; expired entries also go first when room is needed, being the least
 * recently used). A Map keeps insertion order, so moving an entry to the end
 * on each hit makes the first key the least recently used.
 *
 * A partition past its share of either bound makes room from its own
 * entries, and so does a writer (the gateway key whose call put an entry
 * in) past its share of what it put in across every partition it reaches
 * (its own, its team's, each shared route's): without the writer's bound one
 * key filling four partitions' shares would push every other tenant's answers
 * out (L2 bounds writers the same way, redis-byte-charges.ts). And so does
 * a tenant (a team's keys together; a key without a team alone) past its
 * share: without it, a team minting a few keys would get a writer's share
 * for each, and push every other team's answers out.
 *
 * Why not node-cache (which the design names): it has no byte bound (only a
 * key count, and when full it refuses new keys instead of evicting old
 * ones), it deep-clones values on every get and set by default, and it
 * sweeps expiries on a timer. docs/cache.md has the measurement.
 */
export class MemoryCache {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly groupings: Grouping[];
  private held = 0;
  private readonly now: () => number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.now = options.now ?? Date.now;
    const partitionShare = options.maxPartitionShare ?? 1;
    this.groupings = [
      this.grouping((entry) => entry.labels.partition, partitionShare),
      this.grouping(writerOf, options.maxWriterShare ?? partitionShare),
      this.grouping(tenantOf, options.maxTeamShare ?? 1),
    ];
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
    for (const grouping of this.groupings) {
      const group = grouping.groups.get(grouping.nameOf(entry))!.entries;
      group.delete(id);
      group.set(id, entry);
    }
    return entry;
  }

  /**
   * Keeps an entry, dropping the least recently used ones for room (its
   * partition's own, its writer's or its tenant's, when one is past its
   * share); an entry larger than any of those shares is not kept. Returns
   * whether it was.
   */
  set(id: string, given: MemoryEntry): boolean {
    const cost = costOf(id, given);
    if (this.options.maxEntries <= 0 || this.groupings.some(({ maxBytes }) => cost > maxBytes) || given.expiresAt <= this.now()) return false;
    const entry = ownBytes(given);
    const previous = this.entries.get(id);
    if (previous) this.remove(id, previous);
    this.entries.set(id, entry);
    this.held += cost;
    for (const grouping of this.groupings) {
      const group = groupOf(grouping, entry);
      group.entries.set(id, entry);
      group.bytes += cost;
      this.evictWhile(group.entries, () => group.entries.size > grouping.maxEntries || group.bytes > grouping.maxBytes);
    }
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

  private grouping(nameOf: (entry: MemoryEntry) => string, share: number): Grouping {
    return {
      nameOf,
      groups: new Map(),
      maxEntries: Math.max(1, Math.floor(this.options.maxEntries * share)),
      maxBytes: Math.floor(this.options.maxBytes * share),
    };
  }

  /** Drops the least recently used of `lru` while `over` says there is too much. */
  private evictWhile(lru: Map<string, MemoryEntry>, over: () => boolean): void {
    for (const [oldest, victim] of lru) {
      if (!over()) return;
      this.remove(oldest, victim);
      this.options.onEvict?.(victim.expiresAt <= this.now() ? "expired" : "capacity");
    }
  }

  private remove(id: string, entry: MemoryEntry): void {
    const cost = costOf(id, entry);
    this.entries.delete(id);
    this.held -= cost;
    for (const grouping of this.groupings) {
      const name = grouping.nameOf(entry);
      const group = grouping.groups.get(name)!;
      group.entries.delete(id);
      group.bytes -= cost;
      if (group.entries.size === 0) grouping.groups.delete(name);
    }
  }
}

function groupOf(grouping: Grouping, entry: MemoryEntry): Group {
  const name = grouping.nameOf(entry);
  let group = grouping.groups.get(name);
  if (!group) grouping.groups.set(name, (group = { entries: new Map(), bytes: 0 }));
  return group;
}

function writerOf(entry: MemoryEntry): string {
  return entry.writer ?? entry.labels.partition;
}

function tenantOf(entry: MemoryEntry): string {
  return entry.tenant ?? writerOf(entry);
}

/**
 * The entry with bytes that own their memory. Bytes that are a view into a
 * larger buffer would keep all of it alive for the entry's life while counted
 * at their own length: an answer opened from Redis is a slice of Node's 8 KB
 * buffer pool or of zlib's 16 KB output chunk (1 KB answers held about ten
 * times what was counted).
 */
function ownBytes(entry: MemoryEntry): MemoryEntry {
  const { bytes } = entry;
  return bytes.byteLength === bytes.buffer.byteLength ? entry : { ...entry, bytes: new Uint8Array(bytes) };
}

function costOf(id: string, entry: MemoryEntry): number {
  return entry.bytes.length + id.length + ENTRY_OVERHEAD_BYTES;
}
