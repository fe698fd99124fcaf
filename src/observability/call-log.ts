import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ConnectError } from "@connectrpc/connect";
import type { CallInfo } from "../gateway/call-context.js";
import type { Logger } from "./logger.js";
import type { GatewayMetrics } from "./metrics.js";

/**
 * One log line and one metrics sample per API call, whichever surface it came
 * in on (Connect or REST). Returns the function to call when the call ends.
 */
export function startCallLog(logger: Logger, metrics: GatewayMetrics, method: string, info: CallInfo): (err?: unknown) => void {
  const started = performance.now();
  return (err) => {
    const seconds = (performance.now() - started) / 1000;
    const error = err === undefined ? undefined : ConnectError.from(err);
    const status = error ? codeToString(error.code) : "ok";
    metrics.recordRequest(method, status, seconds);
    const line = {
      requestId: info.requestId,
      method,
      provider: info.provider,
      model: info.model,
      requestedModel: info.requestedModel,
      keyId: info.keyId,
      downgraded: info.downgraded || undefined,
      durationMs: Math.round(seconds * 10_000) / 10,
      status,
      error: error?.rawMessage,
    };
    if (error) logger.warn(line, "call failed");
    else logger.info(line, "call");
  };
}
