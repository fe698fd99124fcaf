import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { requestContextValues } from "../client-key.js";

/** Hands a request whose body the lean path has begun to read to connect-es, with that body. */
export type Replay = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, handler: UniversalHandler, body: AsyncIterable<Uint8Array>) => void;

/**
 * Serves a request through connect-es's handler as connect-node's adapter
 * does, but with the body given (what the lean path read, then whatever is
 * left in the request): every request the lean path declines after reading
 * (one frame too few or too many, a body over the size bound) is answered
 * by connect-es exactly as before. (A body that does not decode is answered
 * by the lean path itself, with connect-es's error: decoded once.)
 */
export const replayToConnectEs: Replay = (req, res, handler, body) => {
  const request = { ...universalRequestFromNodeRequest(req as IncomingMessage, res as ServerResponse, undefined, requestContextValues(req)), body };
  handler(request)
    .then((answer) => universalResponseToNodeResponse(answer, res as ServerResponse))
    .catch((reason: unknown) => {
      if (ConnectError.from(reason).code === Code.Aborted) return;
      // As connect-node's adapter reports a handler that failed.
      console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
    });
};

/** The body as read so far, then the rest of the request. */
export async function* readOnFrom(read: readonly Buffer[], req: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
  yield* read;
  yield* req;
}
