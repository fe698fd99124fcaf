/**
 * The time a call spent upstream: from its first attempt's start to its last
 * attempt's end (retries, failovers, hedges and the waits between them are
 * the vendors' time, not the gateway's). What is left of the call's own
 * duration is the gateway's overhead (switchboard_overhead_seconds).
 */
export class UpstreamClock {
  private first: number | undefined;
  private last: number | undefined;

  attemptStarted(): void {
    this.first ??= performance.now();
  }

  attemptEnded(): void {
    this.last = performance.now();
  }

  /** Milliseconds upstream; undefined when no attempt was sent (a refusal, a cache hit) or none has ended. */
  get ms(): number | undefined {
    return this.first === undefined || this.last === undefined ? undefined : this.last - this.first;
  }
}
