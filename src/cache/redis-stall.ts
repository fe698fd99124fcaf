/**
 * Whether to ask Redis now, after a command timed out. A stalled Redis (a
 * fork, a failover, a slow script) keeps its connection, so the link still
 * says it is up, and every command would wait out the command timeout: the
 * calls during the stall would each pay one timeout or more. Instead, once a
 * command timed out, commands are skipped for `backoffMs`; then one command
 * (the probe) is sent while the others are still skipped, and its answer ends
 * the back-off, or its timeout starts another.
 */
export class RedisStall {
  /** When the back-off ends; undefined while Redis answers. */
  private until: number | undefined;
  private probing = false;

  constructor(
    readonly backoffMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether commands are being skipped now (a question, not an admission: it sends no probe). */
  get holding(): boolean {
    return this.until !== undefined && (this.probing || this.now() < this.until);
  }

  /** "send" as usual; "probe", the one command after a back-off, whose outcome ends it or starts another; or "skip". */
  admit(): Admission {
    if (this.until === undefined) return "send";
    if (this.holding) return "skip";
    this.probing = true;
    return "probe";
  }

  /** Redis answered (an error too: only a timeout says it is stalled). */
  answered(admission: Admission): void {
    if (admission !== "probe") return;
    this.probing = false;
    this.until = undefined;
  }

  /** A command timed out; true when that starts a back-off (the first timeout, or the probe's), false when it only extends one. */
  timedOut(admission: Admission): boolean {
    if (admission === "probe") this.probing = false;
    const starts = this.until === undefined || admission === "probe";
    this.until = this.now() + this.backoffMs;
    return starts;
  }
}

export type Admission = "send" | "probe" | "skip";

/** ioredis's own rejection of a command unanswered within `commandTimeout` (Command.js): the command may still run later. */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === "Command timed out";
}
