// A vendor's usage that counts nothing, on an answer that said something, is
// not the vendor's word: a Qianfan v1 stream may end on a 0/0 chunk after
// chunks that counted (../shared/reference/vendor-wire-formats.md §2a
// Streaming, L121: one-api keeps the last non-zero usage), and a vendor that
// counts nothing at all is estimated, and said to be, as one that reports no
// usage. The ledger bills what the caller was told. The estimate counts what
// the call sent and generated beyond text: the tools' schemas, and an answer's
// tool calls (vendors audit, finding 1: a 0/0 Qianfan v1 stream ending in a
// 4,000-character function call was billed 0 completion tokens).
import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { estimateUsage } from "../../src/gateway/usage-estimate.js";
import { fromMoneyParts } from "../../src/usage/pricing.js";
import { startQianfanFake } from "../fakes/qianfan-v1-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";

const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";
const world = gatewayOverFake(
  () => startQianfanFake({ apiKey: AK, secretKey: SK }),
  (fake) => ({ QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: fake.baseUrl }),
  { ledger: { flush_interval_ms: 50 } },
);
const hello = { model: "ernie-4.0-8k", messages: [{ role: Role.USER, content: "hello there" }] };
/** What the fake counts for `hello`: its words, and two for the message. */
const PROMPT_TOKENS = 4;
const parameters = { type: "object", properties: { query: { type: "string", description: "what to look up" } } };
const tools = [{ name: "search", description: "searches the web", parameters }];

let admin: Client<typeof AdminService>;
beforeAll(() => {
  admin = createClient(AdminService, world.gw.transport("connect"));
});

/** A key of its own for each case, so that its ledger rows are the case's alone. */
async function keyFor(keyId: string): Promise<string> {
  const { secret } = await admin.createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 100n } } } });
  return secret;
}

async function streamed(secret: string, request: typeof hello & { tools?: typeof tools } = hello) {
  let text = "";
  let reasoning = "";
  let summary;
  for await (const event of world.gw.client("connect", secret).chatStream(request)) {
    if (event.event.case === "delta") {
      text += event.event.value.content;
      reasoning += event.event.value.reasoningContent;
    }
    if (event.event.case === "summary") summary = event.event.value;
  }
  return { text, reasoning, summary: summary! };
}

/** The key's ledger, once it holds `calls` rows: its tokens are the usages the callers were told, and it cost something. */
async function expectBilled(keyId: string, calls: number, told: Usage[]): Promise<void> {
  await expect.poll(async () => Number((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.requests)).toBe(calls);
  const total = (await admin.getUsageReport({ key: `keys/${keyId}` })).total!;
  expect(Number(total.promptTokens)).toBe(told.reduce((sum, usage) => sum + usage.promptTokens, 0));
  expect(Number(total.completionTokens)).toBe(told.reduce((sum, usage) => sum + usage.completionTokens, 0));
  expect(fromMoneyParts(total.cost!.units, total.cost!.nanos)).toBeGreaterThan(0);
}

describe("vendor usage that counts nothing", () => {
  it("a Qianfan v1 stream whose is_end chunk says 0/0 keeps the last usage that counted, and is billed for it", async () => {
    world.fake.options.zeroUsage = "last-chunk";
    try {
      const secret = await keyFor("zero-last-chunk");
      const { text, summary } = await streamed(secret);
      expect(text).toBe("Echo: hello there");
      expect(summary.usage).toMatchObject({ promptTokens: PROMPT_TOKENS, completionTokens: expect.any(Number) });
      expect(summary.usage!.completionTokens).toBeGreaterThan(0);
      expect(summary.usageEstimated).toBe(false);
      await expectBilled("zero-last-chunk", 1, [summary.usage!]);
    } finally {
      world.fake.options.zeroUsage = undefined;
    }
  });

  it("a vendor that counts nothing for an answer with text is estimated, unary and streamed, flagged, and billed the estimate", async () => {
    world.fake.options.zeroUsage = "every-answer";
    try {
      const secret = await keyFor("zero-every-answer");
      const unary = await world.gw.client("connect", secret).chat(hello);
      expect(unary.message?.content).toBe("Echo: hello there");
      expect(unary.usage).toEqual(estimateUsage(create(ChatRequestSchema, hello), unary.message!));
      const { summary } = await streamed(secret);
      expect(summary.usageEstimated).toBe(true);
      expect(summary.usage).toEqual(unary.usage);
      expect(summary.usage!.promptTokens).toBeGreaterThan(0);
      expect(summary.usage!.completionTokens).toBeGreaterThan(0);
      await expectBilled("zero-every-answer", 2, [unary.usage!, summary.usage!]);
    } finally {
      world.fake.options.zeroUsage = undefined;
    }
  });

  it("a vendor that counts nothing for an answer that is a function call is estimated with the call's arguments and the tools' schemas", async () => {
    world.fake.options.zeroUsage = "every-answer";
    try {
      const secret = await keyFor("zero-function-call");
      // The fake calls the first function with {"query": <the user's text>}: 4,000 characters of arguments.
      const question = "x".repeat(4_000);
      const request = { ...hello, messages: [{ role: Role.USER, content: question }], tools };
      const promptTokens = Math.ceil((question.length + "search".length + "searches the web".length + JSON.stringify(parameters).length) / 4) + 3;

      const unary = await world.gw.client("connect", secret).chat(request);
      const [call] = unary.message!.toolCalls;
      expect(call!.arguments).toBe(JSON.stringify({ query: question }));
      // All ASCII: a quarter of a token a character, of the reasoning (Qianfan's `thoughts`), the name and the arguments.
      const generated = (reasoning: string) => Math.ceil((reasoning.length + call!.name.length + call!.arguments.length) / 4);
      expect(unary.usage).toMatchObject({ promptTokens, completionTokens: generated(unary.message!.reasoningContent) });

      const { text, reasoning, summary } = await streamed(secret, request);
      expect(text).toBe("");
      expect(summary.toolCalls.map((c) => [c.name, c.arguments])).toEqual([[call!.name, call!.arguments]]);
      expect(summary.usageEstimated).toBe(true);
      expect(summary.usage).toMatchObject({ promptTokens, completionTokens: generated(reasoning) });
      expect(summary.usage!.completionTokens).toBeGreaterThan(1_000);
      await expectBilled("zero-function-call", 2, [unary.usage!, summary.usage!]);
    } finally {
      world.fake.options.zeroUsage = undefined;
    }
  });
});
