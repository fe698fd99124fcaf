/**
 * Turns between the ledger's batch writes and the reads that rebuild a
 * key's spend from the store. Such a read counts the rows not stored yet as
 * it starts and adds the store's sum: a batch written meanwhile (or
 * committed, but not yet taken out of the rows not stored) would count in
 * both. So a write waits for the reads under way, and a read for the write
 * under way; reads run side by side. Neither waits longer than `mostWaitMs`
 * (about what a store statement may take): a store that hangs on one must
 * not stop the other, which then goes on as it did without turns, counting a
 * batch twice at worst (a key refused a little early, never let past).
 */
export class StoreTurns {
  private writing: Promise<void> | undefined;
  private readonly reading = new Set<Promise<void>>();

  constructor(
    private readonly mostWaitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs a batch write once no spend read is under way. */
  async write<T>(work: () => Promise<T>): Promise<T> {
    // Reads that start while this one waits are waited for too, within the same bound.
    const until = this.now() + this.mostWaitMs;
    while (this.reading.size > 0 && this.now() < until) await atMost(Promise.all(this.reading), until - this.now());
    const running = work();
    const settled = running.then(ignore, ignore);
    this.writing = settled;
    try {
      return await running;
    } finally {
      if (this.writing === settled) this.writing = undefined;
    }
  }

  /** Runs a spend read once no batch write is under way; `work` must take its count of unstored rows before its first await. */
  async read<T>(work: () => Promise<T>): Promise<T> {
    // Counted from now, not from when it runs: a write waiting to start waits for it, so back-to-back batches do not keep it waiting.
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    this.reading.add(turn);
    try {
      const until = this.now() + this.mostWaitMs;
      while (this.writing && this.now() < until) await atMost(this.writing, until - this.now());
      return await work();
    } finally {
      this.reading.delete(turn);
      done();
    }
  }
}

function ignore(): void {}

/** `promise` settled, or `ms` gone by, whichever comes first. */
function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([promise.then(ignore, ignore), elapsed]).finally(() => clearTimeout(timer));
}
