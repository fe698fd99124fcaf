import { toBinary } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { gatewayError } from "../../src/common/gateway-error.js";

describe("gatewayError", () => {
  it("gives a fractional retry delay as whole milliseconds, so its RetryInfo encodes (a pool's monotonic clock measures fractions)", () => {
    const error = gatewayError(Code.Unavailable, "cooling down", "UPSTREAM_RATE_LIMITED", {}, 1_500.25);
    const [info] = error.findDetails(RetryInfoSchema);
    expect(durationMs(info!.retryDelay!)).toBe(1_501);
    expect(() => toBinary(RetryInfoSchema, info!)).not.toThrow();
    expect(error.metadata.get("retry-after")).toBe("2");
  });
});
