import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { answerStallCut } from "../slow-client.js";

/** A lean call's signal and deadline; `close` when the call has answered. */
export interface CallSignal {
  readonly signal: AbortSignal;
  /** What is left of the caller's deadline, in ms (as connect-es's HandlerContext tells it). */
  timeoutMs(): number | undefined;
  close(): void;
}

/**
 * The signals of lean calls, fired as connect-es fires its handlers': when
 * the deadline passes (DeadlineExceeded), when the gateway shuts down (the
 * shutdown signal's reason), or when the caller goes away first. Unlike
 * connect-es, a call that ends normally is not aborted: aborting without a
 * reason builds a DOMException, a cost every call paid twice.
 */
export class CallSignals {
  /** Calls in flight, told of a shutdown through one listener rather than one each. */
  private readonly live = new Set<AbortController>();

  constructor(private readonly shutdown?: AbortSignal) {
    shutdown?.addEventListener(
      "abort",
      () => {
        for (const controller of this.live) controller.abort(shutdown.reason);
      },
      { once: true },
    );
  }

  open(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, timeoutMs: number | undefined): CallSignal {
    const controller = new AbortController();
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      const expire = (): void => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      if (timeoutMs <= 0) expire();
      else timer = setTimeout(expire, timeoutMs);
    }
    if (this.shutdown?.aborted && !controller.signal.aborted) controller.abort(this.shutdown.reason);
    let open = true;
    this.live.add(controller);
    res.once("close", () => {
      if (open && !res.writableEnded && !controller.signal.aborted) controller.abort(answerStallCut(req) ?? callerGone(req));
    });
    return {
      signal: controller.signal,
      timeoutMs: deadline === undefined ? () => undefined : () => deadline - Date.now(),
      close: () => {
        open = false;
        clearTimeout(timer);
        this.live.delete(controller);
      },
    };
  }
}

/** Why the caller went away, in the words connect-node uses for its handlers' signals; undefined for a plain hang-up. */
export function callerGone(req: IncomingMessage | Http2ServerRequest): ConnectError | undefined {
  if ("stream" in req) return resetError(req.stream.rstCode);
  const errored = req.errored;
  if (!errored) return undefined;
  const code = (errored as NodeJS.ErrnoException).code ?? "";
  const error = ConnectError.from(errored, HUNG_UP.test(code) ? Code.Aborted : UNREACHABLE.test(code) ? Code.Unavailable : Code.Internal);
  if (error !== errored) error.cause = errored;
  return error;
}

const HUNG_UP = /^(ECONNRESET|ERR_STREAM_DESTROYED|ERR_HTTP2_INVALID_STREAM|ERR_STREAM_WRITE_AFTER_END)$/;
const UNREACHABLE = /^(ETIMEDOUT|ENOTFOUND|EAI_AGAIN|ECONNREFUSED)$/;

/** What an HTTP/2 stream reset means for the call, and the error code's name (none for a reset without an error). */
const RESETS: Record<number, [Code, string]> = {
  [constants.NGHTTP2_PROTOCOL_ERROR]: [Code.Internal, "PROTOCOL_ERROR"],
  [constants.NGHTTP2_INTERNAL_ERROR]: [Code.Internal, "INTERNAL_ERROR"],
  [constants.NGHTTP2_FLOW_CONTROL_ERROR]: [Code.Internal, "FLOW_CONTROL_ERROR"],
  [constants.NGHTTP2_SETTINGS_TIMEOUT]: [Code.Internal, "SETTINGS_TIMEOUT"],
  [constants.NGHTTP2_FRAME_SIZE_ERROR]: [Code.Internal, "FRAME_SIZE_ERROR"],
  [constants.NGHTTP2_COMPRESSION_ERROR]: [Code.Internal, "COMPRESSION_ERROR"],
  [constants.NGHTTP2_CONNECT_ERROR]: [Code.Internal, "CONNECT_ERROR"],
  [constants.NGHTTP2_REFUSED_STREAM]: [Code.Unavailable, "REFUSED_STREAM"],
  [constants.NGHTTP2_CANCEL]: [Code.Canceled, "CANCEL"],
  [constants.NGHTTP2_ENHANCE_YOUR_CALM]: [Code.ResourceExhausted, "ENHANCE_YOUR_CALM"],
  [constants.NGHTTP2_INADEQUATE_SECURITY]: [Code.PermissionDenied, "INADEQUATE_SECURITY"],
  [constants.NGHTTP2_HTTP_1_1_REQUIRED]: [Code.PermissionDenied, "HTTP_1_1_REQUIRED"],
};

function resetError(rstCode: number): ConnectError | undefined {
  const reset = RESETS[rstCode];
  return reset && new ConnectError(`http/2 stream closed with error code ${reset[1]} (0x${rstCode.toString(16)})`, reset[0]);
}
