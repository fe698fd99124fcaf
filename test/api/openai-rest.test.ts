import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

let fake: OpenAIFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  // Scripted 429s and rejections must not bench the one key for the tests after them (test/secrets covers key pools).
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR });
  // The official OpenAI SDK, pointed at the gateway: only the base URL and the key change.
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

describe("the OpenAI-compatible REST surface, through the official OpenAI SDK", () => {
  it("answers chat completions", async () => {
    const res = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });
    expect(res.choices[0]!.message.content).toBe("Echo: hello");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("names a tool_choice function that is not among the tools by the field Chat Completions has", async () => {
    const err = await sdk.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hello" }],
        tools: [{ type: "function", function: { name: "weather", parameters: { type: "object" } } }],
        tool_choice: { type: "function", function: { name: "time" } },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('tool_choice.function.name: "time" is not among the tools');
  });

  it("streams with usage, and the stream reassembles to the same answer", async () => {
    const stream = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason ?? null;
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe("Echo: hello");
    expect(finish).toBe("stop");
    expect(total).toBeGreaterThan(0);
  });

  it("streams tool calls that the SDK's helper reassembles", async () => {
    const runner = sdk.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Oslo" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { query: { type: "string" } } } } }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.type === "function" && call.function.name).toBe("get_weather");
    expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ query: "Oslo" });
  });

  it("passes unknown fields through to the vendor (extra_body)", async () => {
    await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], logprobs: true } as never);
    expect(fake.chatRequests().at(-1)!.logprobs).toBe(true);
  });

  it("lists models and embeds", async () => {
    const models = await sdk.models.list();
    expect(models.data.map((m) => m.id)).toContain("gpt-4o-mini");
    const emb = await sdk.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"], encoding_format: "float" });
    expect(emb.data).toHaveLength(2);
  });

  it("fails in OpenAI's error shape with the right status", async () => {
    const unauthorised = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    await expect(unauthorised.models.list()).rejects.toMatchObject({ status: 401 });
    await expect(sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [], temperature: 5 })).rejects.toMatchObject({
      status: 400,
      error: { type: "invalid_request_error" },
    });
    fake.enqueue({ kind: "error", status: 429, body: { error: { message: "slow down", type: "requests" } }, headers: { "retry-after": "3" } });
    const err = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.headers.get("retry-after")).toBe("3");
    expect(err.error.code).toBe("upstream_rate_limited");
  });

  it("answers an unknown endpoint with a 404 the SDKs read, with the request id", async () => {
    const res = await fetch(`${gw.url}/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "x-request-id": "trace-404" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("trace-404");
    expect(await res.json()).toEqual({
      error: { message: "no such endpoint: POST /v1/completions", type: "invalid_request_error", param: null, code: "endpoint_not_found" },
    });
  });

  it("refuses what it cannot honour before the vendor bills it: several answers, an oversized body", async () => {
    const sent = fake.requests.length;
    const several = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], n: 3 }).catch((e) => e);
    expect(several).toMatchObject({ status: 400, error: { type: "invalid_request_error" } });
    expect(several.message).toContain("n: must be 1");
    const seeded = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], seed: 1e300 }).catch((e) => e);
    expect(seeded).toMatchObject({ status: 400, error: { message: expect.stringContaining("seed:") } });
    // 413, not 429: the SDKs would retry a 429 (and this SDK does, by default).
    const retrying = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
    const huge = await retrying.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(9 * 1024 * 1024) }] }).catch((e) => e);
    expect(huge).toMatchObject({ status: 413, error: { type: "invalid_request_error", code: "request_too_large" } });
    expect(fake.requests.length).toBe(sent);
  });

  it("cancels the upstream request when the SDK aborts a stream", async () => {
    fake.options.chunkDelayMs = 30;
    fake.options.extraWords = 50;
    try {
      const abort = new AbortController();
      const stream = await sdk.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "long" }], stream: true },
        { signal: abort.signal },
      );
      let n = 0;
      // The SDK ends the iteration quietly or with an abort error, depending on timing.
      await (async () => {
        for await (const _ of stream) if (++n === 3) abort.abort();
      })().catch(() => undefined);
      expect(n).toBe(3);
      await expect.poll(() => fake.abandoned.length, { timeout: 3_000 }).toBe(1);
    } finally {
      fake.options.chunkDelayMs = 0;
      fake.options.extraWords = 0;
    }
  });
});
