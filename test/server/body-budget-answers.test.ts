// A request refused on HTTP/1.1 because the gateway holds all the request-body
// bytes it takes (./request-body-budget.test.ts: the bounds themselves) got a
// plain-text 503 whatever it was: an OpenAI SDK read no error body, a Connect
// or gRPC-Web client no code it could trust and no reason. Each reads its API's
// error, with retry-after: the gateway as a whole full is Unavailable (503,
// a retry soon may be taken), one client address over its share is
// ResourceExhausted (429).
import Anthropic from "@anthropic-ai/sdk";
import { Code } from "@connectrpc/connect";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { gatewayOverOpenAIFake } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";

/** Far past the bounds below: one such body alone crosses them. */
const LONG_TEXT = "long ".repeat(2_000);

async function refusedByOpenAI(url: string): Promise<InstanceType<typeof OpenAI.APIError>> {
  const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  return sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: LONG_TEXT }] }).then(
    () => expect.unreachable("answered"),
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );
}

describe("HTTP/1.1 with the gateway's request-body bytes all taken", () => {
  const world = gatewayOverOpenAIFake({ server: { max_buffered_request_bytes: 4096 } });

  it("the OpenAI and Anthropic SDKs read their error bodies: 503 (Anthropic's 529) with retry-after", async () => {
    const err = await refusedByOpenAI(world.gw.url);
    expect(err.status).toBe(503);
    expect(err.headers?.get("retry-after")).toBe("1");
    expect(err.error).toMatchObject({ type: "api_error", code: "request_bodies_backlogged", message: expect.stringContaining("retry shortly") });
    const anthropic = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const refused = await anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: LONG_TEXT }] }).then(
      () => expect.unreachable("answered"),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    // Anthropic's status for an overloaded service, which its SDKs retry.
    expect(refused.status).toBe(529);
    expect(refused.error).toMatchObject({ type: "error", error: { type: "overloaded_error", reason: "request_bodies_backlogged" } });
  });

  it("Connect and gRPC-Web clients read UNAVAILABLE with ErrorInfo; a small body is still served", async () => {
    for (const protocol of ["connect", "grpc-web"] as const) {
      const err = await failure(world.gw.client(protocol).chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: LONG_TEXT }] }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "REQUEST_BODIES_BACKLOGGED", metadata: { limit: "total", limit_bytes: "4096" } });
    }
    const served = await world.gw.client("connect").chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
    expect(served.model).toBeTruthy();
  });
});

describe("HTTP/1.1 with one client address's share taken", () => {
  const world = gatewayOverOpenAIFake({ server: { max_buffered_request_bytes_per_client: 4096 } });

  it("is ResourceExhausted: an OpenAI SDK reads 429 with retry-after", async () => {
    const err = await refusedByOpenAI(world.gw.url);
    expect(err.status).toBe(429);
    expect(err.headers?.get("retry-after")).toBe("1");
    expect(err.error).toMatchObject({ code: "request_bodies_backlogged", message: expect.stringContaining("this client address") });
  });
});
