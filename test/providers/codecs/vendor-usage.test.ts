// Every dialect's usage reader against token counts that cannot be true (a
// string, "NaN", a fraction, 1e30, a negative): recorded vendor payloads with
// those counts put in, read by the codecs as DialectAdapter reads them. An
// unusable count leaves the answer without usage (the gateway then estimates
// it, as for a vendor that sends none) and says which field was wrong.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, EmbedRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { createAnthropicCodec } from "../../../src/providers/anthropic/codec.js";
import type { Codec, ErrorContext } from "../../../src/providers/codec.js";
import { createDashScopeCodec } from "../../../src/providers/dashscope/codec.js";
import { createGeminiCodec } from "../../../src/providers/gemini/codec.js";
import { createOpenAICodec } from "../../../src/providers/openai/codec.js";
import { fromOpenAIUsage } from "../../../src/providers/openai/usage.js";
import { createQianfanV1Codec } from "../../../src/providers/qianfan-v1/codec.js";
import { MAX_TOKEN_COUNT, tokenCountProblem, UsageCounts } from "../../../src/providers/vendor-usage.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode, fixtureFolder, type RecordedEvent } from "../../support/codec-fixtures.js";

const hello = create(ChatRequestSchema, { model: "m", messages: [{ role: Role.USER, content: "hello there" }] });
const ctxOf = (provider: string): ErrorContext => ({ provider, credential: createCredential(`${provider}/test`, "sk-usage-test-0123456789") });

/** Counts no vendor can mean, and what the fault says of each. */
const BAD: [string, unknown, RegExp][] = [
  ['"NaN"', "NaN", /^not a number \(a string\)$/],
  ['"12" (a number as a string)', "12", /^not a number \(a string\)$/],
  ["1.5", 1.5, /^not a whole number$/],
  ["1e30", 1e30, /^over 2147483647$/],
  ["-5", -5, /^negative$/],
  ["2^31 (one past int32)", 2 ** 31, /^over 2147483647$/],
  ["true", true, /^not a number \(a boolean\)$/],
  ["an object", { n: 1 }, /^not a number \(an object\)$/],
];

/** A deep copy of `value` with `fn` applied to every object in it that has a key `key`. */
function rewrite(value: unknown, key: string, fn: (holder: Record<string, unknown>) => void): any {
  const copy = structuredClone(value);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      if (key in node) fn(node as Record<string, unknown>);
      Object.values(node).forEach(walk);
    }
  };
  walk(copy);
  return copy;
}

/** Sets `field` of every usage object (found under `usageKey`) to `value`. */
const withCount = (payload: unknown, usageKey: string, field: string, value: unknown) =>
  rewrite(payload, usageKey, (holder) => {
    const usage = holder[usageKey];
    if (usage && typeof usage === "object") (usage as Record<string, unknown>)[field] = value;
  });

interface Dialect {
  name: string;
  codec: Codec;
  /** The recorded whole answer and stream; the key their usage objects sit under, and the billed field set to bad values. */
  answer: unknown;
  stream: RecordedEvent[];
  usageKey: string;
  billed: string;
  /** The fault's name for that field. */
  field: string;
  /** A total or detail: unusable, it is left out and the rest kept. */
  extra: string;
  extraField: string;
}

const openAIAnswer = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "Echo: hello there" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
};
const openAIChunk = (delta: object, finish: string | null, extra: object = {}) => ({ data: { id: "chatcmpl-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }], usage: null, ...extra } });
const openAIStream: RecordedEvent[] = [
  openAIChunk({ role: "assistant", content: "Echo: " }, null),
  openAIChunk({ content: "hello there" }, null),
  openAIChunk({}, "stop"),
  { data: { id: "chatcmpl-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } } },
  { data: "[DONE]" },
];

const anthropic = fixtureFolder("anthropic");
const gemini = fixtureFolder("gemini");
const dashscope = fixtureFolder("dashscope");
const qianfan = fixtureFolder("qianfan-v1");

const DIALECTS: Dialect[] = [
  {
    name: "OpenAI (and every OpenAI-compatible vendor)",
    codec: createOpenAICodec({}),
    answer: openAIAnswer,
    stream: openAIStream,
    usageKey: "usage",
    billed: "prompt_tokens",
    field: "usage.prompt_tokens",
    extra: "total_tokens",
    extraField: "usage.total_tokens",
  },
  {
    name: "Anthropic",
    codec: createAnthropicCodec({ provider: "anthropic" }),
    answer: anthropic.read("answer-text.json").body,
    stream: anthropic.read("stream-text.json").events,
    usageKey: "usage",
    billed: "output_tokens",
    field: "usage.output_tokens",
    // Anthropic sends no total: its only extra-free counts are billed. A cache read is a part of the prompt.
    extra: "cache_read_input_tokens",
    extraField: "usage.cache_read_input_tokens",
  },
  {
    name: "Gemini",
    codec: createGeminiCodec({ provider: "gemini" }),
    answer: gemini.read("answer-text.json").body,
    stream: gemini.read("stream-text.json").events,
    usageKey: "usageMetadata",
    billed: "promptTokenCount",
    field: "usageMetadata.promptTokenCount",
    extra: "totalTokenCount",
    extraField: "usageMetadata.totalTokenCount",
  },
  {
    name: "DashScope",
    codec: createDashScopeCodec({ provider: "dashscope" }),
    answer: dashscope.read("answer-text.json").body,
    stream: dashscope.read("stream-incremental.json").events,
    usageKey: "usage",
    billed: "input_tokens",
    field: "usage.input_tokens",
    extra: "total_tokens",
    extraField: "usage.total_tokens",
  },
  {
    name: "Qianfan v1",
    codec: createQianfanV1Codec({ provider: "qianfan" }),
    answer: qianfan.read("answer-text.json").body,
    stream: qianfan.read("stream-text.json").events,
    usageKey: "usage",
    billed: "completion_tokens",
    field: "usage.completion_tokens",
    extra: "total_tokens",
    extraField: "usage.total_tokens",
  },
];

describe.each(DIALECTS)("$name: token counts that cannot be true", (dialect) => {
  const ctx = ctxOf(dialect.name);
  const whole = (body: unknown) => dialect.codec.chatResponse(body, hello, ctx);
  const streamed = (events: RecordedEvent[]) => decode(dialect.codec.chatStream(hello, ctx), events).end;

  it("reads the recorded usage as it always did, with no fault", () => {
    const answer = whole(dialect.answer);
    expect(answer.usage).toBeDefined();
    expect(answer.usageFault).toBeUndefined();
    expect(answer.usage!.totalTokens).toBeGreaterThan(0);
    const end = streamed(dialect.stream);
    expect(end.usage).toBeDefined();
    expect(end.usageFault).toBeUndefined();
  });

  it.each(BAD)("a billed count of %s: no usage (the gateway estimates), and the fault names the field", (_name, value, problem) => {
    for (const result of [whole(withCount(dialect.answer, dialect.usageKey, dialect.billed, value)), streamed(withCount(dialect.stream, dialect.usageKey, dialect.billed, value))]) {
      expect(result.usage).toBeUndefined();
      expect(result.usageFault?.discarded).toBe(true);
      expect(Object.keys(result.usageFault!.fields)).toEqual([dialect.field]);
      expect(result.usageFault!.fields[dialect.field]).toMatch(problem);
    }
  });

  it("an unusable total or detail is left out, the counts that matter kept, and the fault says so", () => {
    const good = whole(dialect.answer).usage!;
    const answer = whole(withCount(dialect.answer, dialect.usageKey, dialect.extra, "x"));
    expect(answer.usageFault).toEqual({ fields: { [dialect.extraField]: "not a number (a string)" }, discarded: dialect.name === "Anthropic" });
    if (dialect.name === "Anthropic") return; // a cache read is part of Anthropic's prompt: billed.
    expect(answer.usage).toMatchObject({ promptTokens: good.promptTokens, completionTokens: good.completionTokens, totalTokens: good.promptTokens + good.completionTokens });
  });

  it("a usage that is no object at all is no usage, and a fault", () => {
    const answer = whole(rewrite(dialect.answer, dialect.usageKey, (holder) => (holder[dialect.usageKey] = "lots")));
    expect(answer.usage).toBeUndefined();
    expect(answer.usageFault).toEqual({ fields: { [dialect.usageKey]: "not an object (a string)" }, discarded: true });
  });

  it("null counts are absent counts, as before: no fault", () => {
    const answer = whole(withCount(dialect.answer, dialect.usageKey, dialect.extra, null));
    expect(answer.usageFault).toBeUndefined();
    expect(answer.usage).toBeDefined();
  });
});

describe("OpenAI-compatible streams: wherever the usage comes, it is checked once, at the end", () => {
  const codec = createOpenAICodec({});
  const ctx = ctxOf("moonshot");

  it("Moonshot's usage in the finishing choice is checked and named where it was", () => {
    const events: RecordedEvent[] = [
      openAIChunk({ content: "Echo: hello there" }, null),
      { data: { id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop", usage: { prompt_tokens: 1e30, completion_tokens: 3, total_tokens: 7 } }] } },
      { data: "[DONE]" },
    ];
    const { end } = decode(codec.chatStream(hello, ctx), events);
    expect(end.usage).toBeUndefined();
    expect(end.usageFault).toEqual({ fields: { "choices[0].usage.prompt_tokens": "over 2147483647" }, discarded: true });
  });

  it("the last usage counts: a good one after a bad one is read, with no fault", () => {
    const events: RecordedEvent[] = [
      openAIChunk({ content: "Echo" }, null, { usage: { prompt_tokens: "NaN" } }),
      openAIChunk({}, "stop"),
      { data: { id: "c", choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } } },
      { data: "[DONE]" },
    ];
    const { end } = decode(codec.chatStream(hello, ctx), events);
    expect(end.usage).toMatchObject({ promptTokens: 4, completionTokens: 3, totalTokens: 7 });
    expect(end.usageFault).toBeUndefined();
  });

  it("the audit's answer: prompt_tokens \"NaN\", completion_tokens null, total_tokens \"x\"", () => {
    const answer = codec.chatResponse({ ...openAIAnswer, usage: { prompt_tokens: "NaN", completion_tokens: null, total_tokens: "x" } }, hello, ctx);
    expect(answer.usage).toBeUndefined();
    expect(answer.usageFault).toEqual({ fields: { "usage.prompt_tokens": "not a number (a string)", "usage.total_tokens": "not a number (a string)" }, discarded: true });
  });
});

describe("Anthropic streams: counts split between message_start and message_delta", () => {
  const codec = createAnthropicCodec({ provider: "anthropic" });
  const events = anthropic.read("stream-text.json").events as RecordedEvent[];

  it("a bad count in message_delta is not hidden by message_start's good one", () => {
    const bad = rewrite(events, "usage", (holder) => {
      if ((holder as { type?: string }).type === "message_delta") (holder.usage as Record<string, unknown>).output_tokens = "15";
    });
    const { end } = decode(codec.chatStream(hello, ctxOf("anthropic")), bad);
    expect(end.usage).toBeUndefined();
    expect(end.usageFault?.fields).toEqual({ "usage.output_tokens": "not a number (a string)" });
  });

  it("a prompt whose parts add up past int32 is set aside", () => {
    const answer = codec.chatResponse(
      { ...anthropic.read("answer-text.json").body, usage: { input_tokens: MAX_TOKEN_COUNT, cache_creation_input_tokens: 1, cache_read_input_tokens: 0, output_tokens: 3 } },
      hello,
      ctxOf("anthropic"),
    );
    expect(answer.usage).toBeUndefined();
    expect(answer.usageFault?.fields).toEqual({ "usage.input_tokens + cache_creation_input_tokens + cache_read_input_tokens": "adds up to over 2147483647" });
  });
});

describe("embeddings: every dialect's input count", () => {
  const params = create(EmbedRequestSchema, { model: "e", inputs: ["a", "b"] });
  const cases: [string, (usage: unknown) => ReturnType<NonNullable<Codec["embedResponse"]>>, string][] = [
    [
      "OpenAI",
      (usage) => createOpenAICodec({}).embedResponse!({ object: "list", data: [{ index: 0, embedding: [1] }, { index: 1, embedding: [2] }], usage }, params, ctxOf("openai")),
      "prompt_tokens",
    ],
    ["DashScope", (usage) => createDashScopeCodec({ provider: "dashscope" }).embedResponse!({ ...dashscope.read("embedding-answer.json").body, usage }, params, ctxOf("dashscope")), "total_tokens"],
    ["Qianfan v1", (usage) => createQianfanV1Codec({ provider: "qianfan" }).embedResponse!({ ...qianfan.read("embedding-answer.json").body, usage }, params, ctxOf("qianfan")), "prompt_tokens"],
  ];

  it.each(cases)("%s: good counts read, bad ones set aside (estimated), none read as none counted, as before", (_name, read, field) => {
    expect(read({ [field]: 12, total_tokens: 12 }).usage).toMatchObject({ promptTokens: 12, totalTokens: 12 });
    for (const [, value] of BAD) {
      const result = read({ [field]: value });
      expect(result.usage).toBeUndefined();
      expect(Object.keys(result.usageFault!.fields)).toEqual([`usage.${field}`]);
    }
    const none = read(undefined);
    expect(none.usage).toMatchObject({ promptTokens: 0, totalTokens: 0 });
    expect(none.usageFault).toBeUndefined();
  });
});

describe("the shared check", () => {
  it("takes whole numbers from 0 to 2^31-1 and nothing else", () => {
    for (const good of [0, 1, 4096, MAX_TOKEN_COUNT]) expect(tokenCountProblem(good)).toBeUndefined();
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_TOKEN_COUNT + 1, "1", null, undefined, [], {}]) expect(tokenCountProblem(bad)).toBeDefined();
  });

  it("a total left out is the sum, and a sum past int32 is no usage", () => {
    const read = (prompt: number, completion: number) =>
      UsageCounts.read({ prompt, completion }, "usage", (usage, counts) => ({ promptTokens: counts.billed(usage.prompt, "prompt"), completionTokens: counts.billed(usage.completion, "completion") }));
    expect(read(2, 3).usage?.totalTokens).toBe(5);
    const over = read(MAX_TOKEN_COUNT, 1);
    expect(over.usage).toBeUndefined();
    expect(over.fault).toEqual({ fields: { "usage.(prompt + completion)": "adds up to over 2147483647" }, discarded: true });
  });

  it("what the reader found is never the vendor's value: fields and problems only", () => {
    const { fault } = fromOpenAIUsage({ prompt_tokens: "sk-live-secret-echoed-by-a-broken-vendor" });
    expect(JSON.stringify(fault)).not.toContain("secret");
  });
});
