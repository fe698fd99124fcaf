import type { Interceptor } from "@connectrpc/connect";
import { toConnectError } from "../../gateway/errors.js";
import { withErrorInfo } from "../../common/gateway-error.js";
import { watchStream } from "../stream-wrappers.js";

/**
 * Outermost interceptor: every error a call ends with, streams included,
 * leaves with `google.rpc.ErrorInfo`. Most are raised with a reason of their
 * own; the rest (request validation, admin refusals) get their code's name,
 * so a client can always switch on the reason.
 */
export function createErrorInfoInterceptor(): Interceptor {
  return (next) => async (req) => {
    const described = (err: unknown) => withErrorInfo(toConnectError(err, req.signal));
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw described(err);
    }
    if (!res.stream) return res;
    return { ...res, message: watchStream(res.message, { mapError: described }) };
  };
}
