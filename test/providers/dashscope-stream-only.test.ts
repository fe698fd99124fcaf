// DashScope answers QwQ, open-source Qwen3 and any thinking Qwen3 call only as a
// stream (https://help.aliyun.com/en/model-studio/stream): the catalogue says so
// (wire.streamOnly, reasoning.streamOnly), and a unary Chat to such a model is
// streamed upstream and gathered into the one answer.
import { describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";

const API_KEY = "sk-dashscope-upstream-0123456789abcdef";
const ask = (model: string, content = "hello there") => ({ model, messages: [{ role: Role.USER, content }] });

const native = gatewayOverFake(
  () => startDashScopeFake({ apiKey: API_KEY }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_BASE_URL: fake.baseUrl }),
);

describe("DashScope native: models answered only as a stream", () => {
  it("the fake refuses a non-stream call to qwq-plus as DashScope does", async () => {
    const res = await fetch(`${native.fake.baseUrl}/services/aigc/text-generation/generation`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "qwq-plus", input: { messages: [{ role: "user", content: "hi" }] }, parameters: { result_format: "message" } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringContaining("only support stream mode") });
  });

  it("answers a unary Chat to qwq-plus from a streamed call: content, reasoning, finish reason and the vendor's usage", async () => {
    const res = await native.gw.client().chat(ask("qwq-plus"));
    expect(res.message?.content).toBe("Echo: hello there");
    expect(res.message?.reasoningContent).toBe("Thinking about hello there.");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.id).not.toBe("");
    // The fake's last chunk: 3 answer words and 4 reasoning words, as output tokens.
    expect(res.usage).toMatchObject({ completionTokens: 7, reasoningTokens: 4 });
    expect(res.usage!.totalTokens).toBe(res.usage!.promptTokens + 7);
    const wire = native.fake.generationRequests().at(-1)!;
    expect(wire.headers["x-dashscope-sse"]).toBe("enable");
    expect(wire.body.parameters.incremental_output).toBe(true);
  });

  it("gathers a streamed tool call into the unary answer", async () => {
    const tools = [{ name: "lookup", description: "looks up", parametersJson: JSON.stringify({ type: "object", properties: { query: { type: "string" } } }) }];
    const res = await native.gw.client().chat({ ...ask("qwen3-235b-a22b", "weather in Hangzhou"), tools });
    expect(res.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(res.message?.toolCalls).toHaveLength(1);
    const [call] = res.message!.toolCalls;
    expect(call).toMatchObject({ name: "lookup", arguments: JSON.stringify({ query: "weather in Hangzhou" }) });
    expect(call!.id).toBe(native.fake.toolCallsMade.at(-1)!.id);
    expect(native.fake.generationRequests().at(-1)!.headers["x-dashscope-sse"]).toBe("enable");
  });

  it("streams a thinking call to a hybrid model, and leaves one that does not think a plain unary call", async () => {
    const thinking = await native.gw.client().chat({ ...ask("qwen-plus"), reasoning: { budgetTokens: 1024 } });
    expect(thinking.message?.content).toBe("Echo: hello there");
    expect(thinking.message?.reasoningContent).toBe("Thinking about hello there.");
    expect(native.fake.generationRequests().at(-1)!.body.parameters).toMatchObject({ enable_thinking: true, incremental_output: true });

    const plain = await native.gw.client().chat(ask("qwen-plus"));
    expect(plain.message?.content).toBe("Echo: hello there");
    expect(native.fake.generationRequests().at(-1)!.headers["x-dashscope-sse"]).toBeUndefined();
  });
});

const compatible = gatewayOverFake(
  () => startOpenAIFake({ apiKey: API_KEY, models: ["qwq-plus"] }),
  (fake) => ({ DASHSCOPE_API_KEY: API_KEY, DASHSCOPE_MODE: "compatible", DASHSCOPE_BASE_URL: fake.baseUrl }),
);

describe("DashScope compatible mode: models answered only as a stream", () => {
  it("answers a unary Chat to qwq-plus from a streamed call that asks for usage", async () => {
    const res = await compatible.gw.client().chat(ask("qwq-plus"));
    expect(res.message?.content).toContain("hello there");
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect(res.usage!.completionTokens).toBeGreaterThan(0);
    expect(compatible.fake.chatRequests().at(-1)).toMatchObject({ model: "qwq-plus", stream: true, stream_options: { include_usage: true } });
  });
});
