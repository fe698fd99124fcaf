import type { AfterAnswer } from "../providers/provider.js";
import type { AttemptCall } from "./provider-runtime.js";
import type { StartTimer, Timer } from "./timers.js";

/** How long a stream's vendor is still read after its caller left past the answer's end: a usage chunk follows the finish reason within milliseconds. */
export const USAGE_GRACE_MS = 5_000;

/** How much of it is read in that time: a usage chunk and an end marker are under a kilobyte. */
export const USAGE_GRACE_CHARS = 64 * 1024;

/**
 * The vendor's own usage of a stream whose caller left once the answer had
 * ended. A caller that goes away cancels its stream's vendor request at once:
 * that stops the generation, so what the vendor bills is what it generated,
 * and the gateway charges an estimate of what it saw. But when the vendor had
 * already said the answer's end (its finish or stop reason; AfterAnswer),
 * only its usage is still to come, and with it what the answer really cost:
 * the reasoning tokens a reasoning model spent before its first visible one,
 * which no estimate of the text sees. That request is then read for
 * USAGE_GRACE_MS longer (USAGE_GRACE_CHARS at most), and cancelled after.
 * One per streamed call, its attempts' requests each under their own signal.
 */
export class UsageGrace {
  private readonly graces = new Set<Timer>();

  constructor(
    /** Fires when the caller cancels, or its deadline passes. */
    private readonly caller: AbortSignal,
    private readonly timer: StartTimer,
    private readonly bounds = { ms: USAGE_GRACE_MS, chars: USAGE_GRACE_CHARS },
  ) {}

  /**
   * The attempt's call as its adapter gets it: its vendor request cancelled
   * when the attempt is (the caller's leaving, the attempt's bound), at once,
   * but for the caller's leaving after the answer's end.
   */
  attempt(call: AttemptCall): AttemptCall & { afterAnswer: AfterAnswer } {
    const vendor = new AbortController();
    let answered = false;
    let grace: Timer | undefined;
    let readSince = 0;
    const cancel = (): void => {
      if (grace) this.end(grace);
      vendor.abort(call.signal.reason);
    };
    const cancelled = (): void => {
      if (!answered || !this.caller.aborted) return cancel();
      grace = this.timer(this.bounds.ms, cancel);
      this.graces.add(grace);
    };
    if (call.signal.aborted) cancelled();
    else call.signal.addEventListener("abort", cancelled, { once: true });
    const afterAnswer: AfterAnswer = {
      ended: () => {
        answered = true;
      },
      read: (chars) => {
        if (grace && (readSince += chars) > this.bounds.chars) cancel();
      },
    };
    return { ...call, signal: vendor.signal, afterAnswer };
  }

  /** The stream is over: graces still running stop (their requests ended with it). */
  close(): void {
    for (const grace of this.graces) this.end(grace);
  }

  private end(grace: Timer): void {
    grace.stop();
    this.graces.delete(grace);
  }
}
