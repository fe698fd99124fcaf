import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Tells a deadline from a cancellation once a signal has fired. Connect's
 * handler signal carries a ConnectError (DeadlineExceeded or Canceled);
 * AbortSignal.timeout() carries a DOMException named "TimeoutError".
 */
export function abortKind(signal: AbortSignal): "timeout" | "cancelled" {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason.code === Code.DeadlineExceeded ? "timeout" : "cancelled";
  if (reason instanceof Error && reason.name === "TimeoutError") return "timeout";
  return "cancelled";
}
