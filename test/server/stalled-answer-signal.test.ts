// connect-node fires a call's signal alike for a client that reset its stream
// (or hung up) and for an answer the gateway cut off unread: the wrapper makes
// the second say so (DeadlineExceeded, SLOW_CLIENT), and leaves the first as it
// was. (End to end: answer-stalls.test.ts, h1-abandoned-streams.test.ts.)
import type { ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2Stream } from "node:http2";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { reasonOf } from "../../src/common/gateway-error.js";
import { nodeRequestKey } from "../../src/server/slow-cut-context.js";
import { markStalledAnswer, SLOW_CLIENT } from "../../src/server/slow-client.js";
import { withStalledAnswerReason } from "../../src/server/stalled-answer-signal.js";

/** A call on one HTTP/2 stream whose handler keeps the signal it was given; `transport` is connect-node's signal for it. */
function call(stream: object) {
  const transport = new AbortController();
  let seen: AbortSignal | undefined;
  const handler = Object.assign(async (req: UniversalServerRequest) => {
    seen = req.signal;
    return { status: 200 };
  }, { requestPath: "/switchboard.v1.AIService/ChatStream" }) as unknown as UniversalHandler;
  const values = createContextValues();
  values.set(nodeRequestKey, { stream } as unknown as Http2ServerRequest);
  void withStalledAnswerReason(handler)({ signal: transport.signal, contextValues: values } as unknown as UniversalServerRequest);
  return { transport, signal: () => seen! };
}

const reset = () => new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled);

describe("a Connect call's signal", () => {
  it("fires with the gateway's slow-client cut when its answer was cut off unread", () => {
    const stream = {} as Http2Stream;
    const { transport, signal } = call(stream);
    markStalledAnswer({ stream } as unknown as ServerResponse);
    transport.abort(reset());
    const reason = signal().reason as ConnectError;
    expect(reason.code).toBe(Code.DeadlineExceeded);
    expect(reasonOf(reason)).toBe(SLOW_CLIENT);
    expect(reason.rawMessage).toContain("answer_stall_timeout_ms");
  });

  it("fires with the client's own reset otherwise", () => {
    const { transport, signal } = call({} as Http2Stream);
    const hungUp = reset();
    transport.abort(hungUp);
    expect(signal().reason).toBe(hungUp);
  });
});
