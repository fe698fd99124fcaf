import type { IncomingHttpHeaders } from "node:http";
import { MAX_DEADLINE_MS } from "../common/contract.js";

/**
 * gRPC's timeout: digits, then a unit. The spec allows 8 digits
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), but
 * clients write more for long deadlines (connect-es sends 48 hours as
 * "172800000m"): any count past the cap is cut to it.
 */
const GRPC_TIMEOUT = /^(\d{1,20})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Cuts a well-formed `grpc-timeout` or `connect-timeout-ms` past
 * MAX_DEADLINE_MS down to it, before connect-es or the lean path read it:
 * both refuse a longer one (a grpc-go client with a 48-hour context would
 * fail outright), and a timer that long would fire at once. Malformed values
 * are left for them to refuse.
 */
export function capDeadlineHeaders(headers: IncomingHttpHeaders): void {
  const grpc = headers["grpc-timeout"];
  const parts = typeof grpc === "string" ? GRPC_TIMEOUT.exec(grpc) : null;
  if (parts && Number(parts[1]) * UNIT_MS[parts[2]!]! > MAX_DEADLINE_MS) headers["grpc-timeout"] = `${MAX_DEADLINE_MS}m`;
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_DEADLINE_MS) headers["connect-timeout-ms"] = String(MAX_DEADLINE_MS);
}
