// A refusal the gateway writes itself, before connect-es sees the request,
// in each protocol's shape: a header the error's metadata carries too is
// sent once.
import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { gatewayError } from "../../src/common/gateway-error.js";
import { shapedRefusal } from "../../src/server/shaped-refusal.js";

const backlogged = () => gatewayError(Code.Unavailable, "too many request bodies arriving", "REQUEST_BODIES_BACKLOGGED", {}, 1_000);
const head = (contentType: string, path = "/switchboard.v1.AIService/Chat") => ({ path, header: (name: string) => (name === "content-type" ? contentType : undefined) });

describe("a refusal shaped for its protocol", () => {
  it("gives gRPC one retry-after, though the caller's headers and the error's metadata both name it", () => {
    const answer = shapedRefusal(head("application/grpc"), backlogged(), 503, { "retry-after": "1" });
    expect(answer.headers["retry-after"]).toBe("1");
    expect(answer.headers["grpc-status"]).toBe(String(Code.Unavailable));
  });

  it("keeps a header only the caller's headers give", () => {
    const answer = shapedRefusal(head("application/grpc"), gatewayError(Code.Unavailable, "busy", "BUSY"), 503, { "retry-after": "2" });
    expect(answer.headers["retry-after"]).toBe("2");
  });

  it("gives Connect unary and REST one retry-after too", () => {
    expect(shapedRefusal(head("application/json"), backlogged(), 503, { "retry-after": "1" }).headers["retry-after"]).toBe("1");
    expect(shapedRefusal(head("application/json", "/v1/chat/completions"), backlogged(), 503, { "retry-after": "1" }).headers["retry-after"]).toBe("1");
  });
});
