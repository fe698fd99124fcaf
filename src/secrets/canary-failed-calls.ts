/** Calls remembered on each side: a call's retries follow its failure within seconds. */
const FAILED_CALLS_KEPT = 256;

/**
 * The calls (by request id) whose failure a canary run has counted, on the
 * canary's side and the active keys': a call counts one failure on each side
 * however many attempts it made there. When the pool has no other key, the
 * dispatcher retries a call on the same key: one vendor blip would otherwise
 * be three canary errors, enough to roll it back. A caller may choose its
 * request ids (x-request-id): reusing one only makes its own failures count
 * less, never a good canary look worse.
 */
export class FailedCalls {
  private readonly seen = { canary: new Set<string>(), active: new Set<string>() };

  /** Whether this is the call's first failure on `side` (remembered if so); a call without a request id always counts. */
  firstFailure(side: "canary" | "active", call: string | undefined): boolean {
    if (call === undefined) return true;
    const seen = this.seen[side];
    if (seen.has(call)) return false;
    seen.add(call);
    if (seen.size > FAILED_CALLS_KEPT) seen.delete(seen.values().next().value!);
    return true;
  }
}
