// Log probabilities and the vendor's identity of an answer, end to end:
// asked by the official OpenAI SDK on /v1/chat/completions, or by a
// Connect/gRPC caller on ChatRequest, of a model served in OpenAI's dialect
// (whose fake sends them as OpenAI does), they come back as OpenAI wrote
// them: each token's log probability with its alternatives, the vendor's id,
// its dated model, system_fingerprint and service_tier, in a whole answer and
// in every chunk of a stream from the first. Asked of Claude, which gives none,
// they are InvalidArgument before any vendor is asked.
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const GPT = "gpt-4o";
const SNAPSHOT = "gpt-4o-2024-08-06";
const CLAUDE = "claude-sonnet-4-5";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001" });
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-fake-000000000001" });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-fake-000000000001", OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_API_KEY: "sk-ant-fake-000000000001", ANTHROPIC_BASE_URL: anthropic.baseUrl },
    { key_pool: EVERY_CALL_REACHES_THE_VENDOR, routes: [{ model: "cached-gpt", provider: "openai", upstream_model: GPT, cache: { mode: "always" } }] },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

/** The fake's tokens are its stream's pieces: 4 characters each. */
const TOKENS = ["Echo", ": ca", "fé"];
const ASK = { messages: [{ role: "user" as const, content: "café" }], logprobs: true, top_logprobs: 2 };

describe("/v1/chat/completions, through the official OpenAI SDK", () => {
  it("a whole answer has the tokens' log probabilities, and the vendor's id, dated model, fingerprint and tier", async () => {
    const res = await sdk.chat.completions.create({ model: GPT, ...ASK });
    const sent = openai.chatRequests().at(-1)!;
    expect(sent).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const logprobs = res.choices[0]!.logprobs!;
    expect(logprobs.refusal).toBeNull();
    expect(logprobs.content!.map((t) => t.token)).toEqual(TOKENS);
    expect(logprobs.content![2]).toEqual({
      token: "fé",
      logprob: -0.03,
      bytes: [102, 195, 169],
      top_logprobs: [
        { token: "fé", logprob: -0.03, bytes: [102, 195, 169] },
        { token: "alt1", logprob: -1.03, bytes: [97, 108, 116, 49] },
      ],
    });
    expect(res).toMatchObject({ model: SNAPSHOT, system_fingerprint: "fp_07871e2ad8", service_tier: "default" });
    expect(res.id).toMatch(/^chatcmpl-\d+$/);
  });

  it("a stream's chunks carry each piece's log probabilities, and every chunk the vendor's id and identity from the first", async () => {
    const stream = await sdk.chat.completions.create({ model: GPT, ...ASK, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const tokens = chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.content ?? []);
    expect(tokens.map((t) => t.token)).toEqual(TOKENS);
    expect(tokens[0]!.top_logprobs).toHaveLength(2);
    expect(tokens[0]!.bytes).toEqual([69, 99, 104, 111]);
    // One id for the answer, the vendor's (not the gateway's chatcmpl-<request id>), and the served model as the vendor named it.
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]!.id).toMatch(/^chatcmpl-\d+$/);
    for (const chunk of chunks) expect(chunk).toMatchObject({ model: SNAPSHOT, system_fingerprint: "fp_07871e2ad8", service_tier: "default" });
    expect(chunks.at(-1)!.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("the SDK's stream helper assembles the log probabilities into the final completion, as the whole answer has them", async () => {
    const final = await sdk.chat.completions.stream({ model: GPT, ...ASK }).finalChatCompletion();
    expect(final.choices[0]!.logprobs?.content?.map((t) => t.token)).toEqual(TOKENS);
    expect(final.model).toBe(SNAPSHOT);
  });

  it("without logprobs, none are sent or written: logprobs null in a whole answer, left out of a stream's chunks", async () => {
    const res = await sdk.chat.completions.create({ model: GPT, messages: ASK.messages });
    expect(openai.chatRequests().at(-1)).not.toHaveProperty("logprobs");
    expect(res.choices[0]!.logprobs).toBeNull();
    const stream = await sdk.chat.completions.create({ model: GPT, messages: ASK.messages, stream: true });
    for await (const chunk of stream) expect(chunk.choices[0]).not.toHaveProperty("logprobs");
  });

  it("a refusal's tokens come as logprobs.refusal", async () => {
    const res = await sdk.chat.completions.create({ model: GPT, messages: [{ role: "user", content: "[refuse] this" }], logprobs: true });
    expect(res.choices[0]!.logprobs!.content).toBeNull();
    expect(res.choices[0]!.logprobs!.refusal!.map((t) => t.token).join("")).toBe(res.choices[0]!.message.refusal);
  });

  it("a streamed answer kept by the response cache keeps its log probabilities and identity for the next identical call", async () => {
    const ask = { model: "cached-gpt", ...ASK, messages: [{ role: "user" as const, content: "cache me" }] };
    const stream = await sdk.chat.completions.create({ ...ask, stream: true });
    for await (const _chunk of stream);
    const calls = openai.chatRequests().length;
    const { data, response } = await sdk.chat.completions.create(ask).withResponse();
    expect(response.headers.get("x-switchboard-cache")).toBe("hit");
    expect(openai.chatRequests().length).toBe(calls);
    expect(data.choices[0]!.logprobs!.content!.map((t) => t.token).join("")).toBe(data.choices[0]!.message.content);
    expect(data).toMatchObject({ model: SNAPSHOT, system_fingerprint: "fp_07871e2ad8", service_tier: "default" });
  });

  it.each([
    [{ top_logprobs: 21 }, "top_logprobs"],
    [{ top_logprobs: 1.5 }, "top_logprobs"],
    [{ logprobs: "yes" }, "logprobs"],
  ])("%j is a 400 naming the field", async (extra, field) => {
    const err = await sdk.chat.completions.create({ model: GPT, messages: ASK.messages, ...(extra as object) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(field);
  });
});

describe("AIService over Connect and gRPC", () => {
  const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "café" }], logprobs: true, topLogprobs: 2 });

  it.each(["grpc", "connect"] as const)("%s: Chat asks for log probabilities and gets them, with the vendor's identity", async (protocol) => {
    const res = await gw.client(protocol).chat(ask(GPT));
    expect(openai.chatRequests().at(-1)).toMatchObject({ logprobs: true, top_logprobs: 2 });
    expect(res.logprobs!.content.map((t) => t.token)).toEqual(TOKENS);
    expect(res.logprobs!.content[2]!.bytes).toEqual(new Uint8Array([102, 195, 169]));
    expect(res.logprobs!.content[2]!.topLogprobs.map((t) => t.token)).toEqual(["fé", "alt1"]);
    expect(res).toMatchObject({ model: GPT, vendorModel: SNAPSHOT, systemFingerprint: "fp_07871e2ad8", serviceTier: "default" });
  });

  it.each(["grpc", "connect"] as const)("%s: ChatStream's deltas carry them, the first the vendor's id and identity, the summary it again", async (protocol) => {
    const deltas = [];
    let summary;
    for await (const event of gw.client(protocol).chatStream(ask(GPT))) {
      if (event.event.case === "delta") deltas.push(event.event.value);
      else summary = event.event.value;
    }
    expect(deltas.flatMap((d) => d.logprobs?.content ?? []).map((t) => t.token)).toEqual(TOKENS);
    expect(deltas[0]).toMatchObject({ id: summary!.id, vendorModel: SNAPSHOT, systemFingerprint: "fp_07871e2ad8", serviceTier: "default" });
    expect(deltas.slice(1).every((d) => d.id === undefined)).toBe(true);
    expect(summary).toMatchObject({ vendorModel: SNAPSHOT, systemFingerprint: "fp_07871e2ad8", serviceTier: "default" });
  });

  it("asked of Claude, which gives none: InvalidArgument naming the field, no vendor asked", async () => {
    const before = anthropic.requests.length;
    const err = await gw.client("grpc").chat(ask(CLAUDE)).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).message).toContain(`logprobs: ${CLAUDE} returns no log probabilities`);
    expect(anthropic.requests.length).toBe(before);
  });

  it("top_logprobs past 20 is InvalidArgument", async () => {
    const err = await gw.client("connect").chat({ ...ask(GPT), topLogprobs: 21 }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).message).toContain("top_logprobs");
  });
});
