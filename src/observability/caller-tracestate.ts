import { holdsKeyOrSecretPiece } from "../providers/redact.js";

/** W3C Trace Context's bounds on a tracestate: list members, and characters in all. */
const MAX_MEMBERS = 32;
const MAX_CHARS = 512;
/** Characters of a caller's header read at most, kept or not: a 16 KiB header of refused members costs no more. */
const MAX_READ_CHARS = 4 * MAX_CHARS;

/**
 * The caller's `tracestate` as the gateway's spans continue it: its list
 * members in order, less any holding a key or a piece (12 characters or more)
 * of one of the gateway's secrets, found as log lines mask them
 * (holdsKeyOrSecretPiece: a span goes to a tracing service, which no secret
 * reaches and no caller reads), within W3C's bounds (32 members, 512
 * characters; later ones are dropped, as the specification allows).
 * Undefined when none is left. It is
 * recorded on the gateway's spans only, never sent on to a vendor: a caller's
 * tracing entries mean nothing to a third party's API, and are the caller's.
 */
export function callerTraceState(header: string): string | undefined {
  const kept: string[] = [];
  let chars = 0;
  let read = 0;
  for (const raw of header.split(",", MAX_MEMBERS * 2)) {
    read += raw.length + 1;
    if (read > MAX_READ_CHARS) break;
    const member = raw.trim();
    const size = member.length + (kept.length > 0 ? 1 : 0);
    if (member === "" || chars + size > MAX_CHARS || holdsKeyOrSecretPiece(member)) continue;
    kept.push(member);
    chars += size;
    if (kept.length === MAX_MEMBERS) break;
  }
  return kept.length > 0 ? kept.join(",") : undefined;
}
