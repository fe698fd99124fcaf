import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { isUpstreamError } from "../providers/upstream-error.js";

/**
 * The attempts whose request the transport wrote whole to the vendor: only
 * those can be billed by it, however they end. An attempt cut before (queued
 * for a connection, its connection still opening) never reached the vendor.
 * Kept beside the record, which is the API's message: this is the gateway's own fact.
 */
const SENT = new WeakSet<Attempt>();

/**
 * What an attempt's record (its outcome in the answer's attempts and the ledger's `attempt_log`) and the
 * `switchboard_upstream_requests_total` status both say of an attempt that never reached the vendor.
 */
export const NOT_SENT = "not_sent";

/** The transport wrote the attempt's request (UpstreamCall.requestSent). */
export function markRequestSent(attempt: Attempt): void {
  SENT.add(attempt);
}

/** Whether the attempt's request reached the vendor, so that it can bill its prompt. */
export function requestSent(attempt: Attempt): boolean {
  return SENT.has(attempt);
}

/**
 * Of an attempt sent as several requests (an embedding's batches) that failed or was cut: the prompt tokens of
 * those the vendor can bill, as the requests told (embed-batches.ts). It stands for the whole prompt's estimate.
 */
const BILLED_PROMPT = new WeakMap<Attempt, number>();

/** The attempt's requests told what of its prompt the vendor can bill (AttemptCall.promptBilled). */
export function markPromptBilled(attempt: Attempt, promptTokens: number): void {
  BILLED_PROMPT.set(attempt, promptTokens);
}

/** What of the attempt's prompt its requests told the vendor can bill, if they told. */
export function billedPrompt(attempt: Attempt): number | undefined {
  return BILLED_PROMPT.get(attempt);
}

/**
 * Whether an attempt that ended with `err` never reached the vendor: it failed with no word from the vendor
 * (no HTTP status; a stream: no event, `heard`) before the transport wrote its request: cut while it waited
 * for a connection, its connection refused or still opening, or refused by the gateway before it was written.
 * "The vendor failed" and "the vendor never saw it" must not read alike, on the metric as in the ledger.
 */
export function neverSent(attempt: Attempt, err: unknown, heard: boolean): boolean {
  if (err === undefined || heard || requestSent(attempt)) return false;
  return !isUpstreamError(err) || err.status === undefined;
}
