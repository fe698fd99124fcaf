/**
 * Whether a caller's deadline was already past when its request arrived
 * (`grpc-timeout: 0n`, `connect-timeout-ms: 0`). Such a deadline does not
 * bound the read of the request body: the read is left to
 * request_timeout_ms, as with no deadline, and the call then ends as any past
 * its deadline (DeadlineExceeded, with its ledger row) rather than unread and
 * unrecorded. Both paths ask it: connect-es's (./body-deadline.ts) and the
 * lean one (./lean-rpc/lean-rpc.ts).
 */
export function deadlinePastOnArrival(timeoutMs: number | undefined): boolean {
  return timeoutMs !== undefined && timeoutMs <= 0;
}
