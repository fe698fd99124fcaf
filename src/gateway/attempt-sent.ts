import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";

/**
 * The attempts whose request the transport wrote whole to the vendor: only
 * those can be billed by it, however they end. An attempt cut before (queued
 * for a connection, its connection still opening) never reached the vendor.
 * Kept beside the record, which is the API's message: this is the gateway's own fact.
 */
const SENT = new WeakSet<Attempt>();

/** The transport wrote the attempt's request (UpstreamCall.requestSent). */
export function markRequestSent(attempt: Attempt): void {
  SENT.add(attempt);
}

/** Whether the attempt's request reached the vendor, so that it can bill its prompt. */
export function requestSent(attempt: Attempt): boolean {
  return SENT.has(attempt);
}
