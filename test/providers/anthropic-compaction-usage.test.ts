// Anthropic's server-side compaction summarises the conversation in a
// sampling step of its own, reported in usage.iterations and left out of the
// top-level counts. Compaction is refused as an option; should one get through
// anyway, its step is billed: its tokens are added to the call's usage, unary
// and streamed. Before, only the top-level counts were read.
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { streamedLikeUnary } from "../support/streams.js";

const world = gatewayOverFake(
  () => startAnthropicFake({ apiKey: "sk-ant-upstream", compaction: { input_tokens: 180_000, output_tokens: 3_500 } }),
  (fake) => ({ ANTHROPIC_API_KEY: "sk-ant-upstream", ANTHROPIC_BASE_URL: fake.baseUrl }),
);

const ask = { model: "claude-sonnet-4-5", messages: [{ role: Role.USER, content: "hello there" }], maxTokens: 50 };

describe("Anthropic's usage.iterations", () => {
  it("adds a compaction step's tokens to a unary call's usage", async () => {
    const res = await world.gw.client().chat(ask);
    // The fake's answer: "Echo: hello there" (3 words) to a prompt of 2 words + 3.
    expect(res.usage).toMatchObject({ promptTokens: 5 + 180_000, completionTokens: 3 + 3_500 });
    expect(res.usage!.totalTokens).toBe(5 + 180_000 + 3 + 3_500);
  });

  it("adds it to a streamed call's usage, as the unary call's", async () => {
    const summary = await streamedLikeUnary(world.gw.client(), ask);
    expect(summary.usage).toMatchObject({ promptTokens: 5 + 180_000, completionTokens: 3 + 3_500 });
  });
});
