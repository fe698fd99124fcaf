// A call's signal aborted with no reason is how connect-node (and the lean path, which
// mirrors it) says an HTTP/1.1 caller hung up: the call's error, which the ledger row and
// usage reports' errors take, is Canceled, never Internal (which marks a gateway bug).
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { toConnectError } from "../../src/gateway/errors.js";

function abortedSignal(reason?: unknown): AbortSignal {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
}

describe("toConnectError with the call's own signal aborted", () => {
  it("with no reason (an HTTP/1.1 hang-up): Canceled, whatever the error", () => {
    const signal = abortedSignal();
    for (const err of [signal.reason, Object.assign(new Error("Cannot call write after a stream was destroyed"), { code: "ERR_STREAM_DESTROYED" })]) {
      const error = toConnectError(err, signal);
      expect(error.code).toBe(Code.Canceled);
      expect(error.rawMessage).toBe("the client went away");
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("CANCELLED");
    }
  });

  it("with a reason of its own: that reason", () => {
    const deadline = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    expect(toConnectError(new Error("x"), abortedSignal(deadline))).toBe(deadline);
  });

  it("not aborted: a stray error is still Internal", () => {
    expect(toConnectError(new Error("a bug"), new AbortController().signal).code).toBe(Code.Internal);
  });
});
