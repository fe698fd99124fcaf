import type { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { withErrorInfo } from "../../common/gateway-error.js";
import { asDecodeFault, withWellFormedMessage } from "../request-faults.js";

/**
 * Sets a failed gRPC call's trailers (status, message, details in
 * `grpc-status-details-bin`, metadata) as the router's handlers end up
 * setting them: a message no header can carry (an unpaired surrogate) is
 * mended rather than thrown on, and an internal decode failure before any
 * message becomes InvalidArgument with ErrorInfo, as the request-faults
 * wrapper makes it (ErrorInfo too: setting a status without details leaves
 * the first one's `grpc-status-details-bin` in place).
 */
export function setGrpcErrorTrailer(trailer: Headers, error: ConnectError, beforeAnyMessage = true): void {
  const spoken = withWellFormedMessage(error);
  setTrailerStatus(trailer, spoken);
  const fault = beforeAnyMessage ? asDecodeFault(spoken) : spoken;
  if (fault !== spoken) setTrailerStatus(trailer, withErrorInfo(fault));
}
