// The caller's deadline passing after a stream's first text went out: the
// vendor was answering, so the stream ends as interrupted by that deadline,
// not as a vendor that "did not answer". Simulated clock (sim-dispatch.ts).
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { on, setup, stream, streamed } from "./sim-dispatch.js";

describe("a caller's deadline passing mid-stream", () => {
  it("ends the stream with STREAM_INTERRUPTED, saying the caller's deadline passed mid-answer", async () => {
    const s = setup();
    // The first token after 100 ms, the next one only after 5 s: the caller's 1 s deadline passes in between.
    s.vendor.script("m", stream(100, [5_000, 10]));
    const { error, text, attempts } = await streamed(s, [on("primary", "m")], 1_000);
    expect(text).toBe("t0 ");
    expect(attempts).toHaveLength(1);
    expect(error?.code).toBe(Code.DeadlineExceeded);
    const info = error?.findDetails(ErrorInfoSchema)[0];
    expect(info?.reason).toBe("STREAM_INTERRUPTED");
    expect(info?.metadata).toMatchObject({ provider: "primary", upstream_reason: "DEADLINE_EXCEEDED" });
    expect(error?.rawMessage).toContain("the caller's deadline passed mid-answer");
    expect(error?.rawMessage).toContain("had already begun streaming");
    expect(error?.rawMessage).not.toContain("did not answer");
  });
});
