import { Code, type HandlerContext } from "@connectrpc/connect";
import { principalKey } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { CallContext } from "../../gateway/call-context.js";
import { callRecordKey, pipelineContext } from "./call-record.js";

/** A Connect call as the pipeline sees it: the envelope's record and principal, Connect's signal and deadline. */
export function callContextOf(ctx: HandlerContext): CallContext {
  const record = ctx.values.get(callRecordKey);
  const principal = ctx.values.get(principalKey);
  // The interceptors set both for every API service: missing, it is a wiring bug, and the caller is not let through.
  if (!record || !principal) throw gatewayError(Code.Unauthenticated, "not authenticated", "UNAUTHENTICATED");
  const timeoutMs = ctx.timeoutMs();
  return pipelineContext(record, principal, ctx.signal, timeoutMs === undefined ? undefined : Date.now() + timeoutMs);
}
