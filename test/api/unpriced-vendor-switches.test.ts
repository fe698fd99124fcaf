// Vendor switches a caller could set as its own fields (REST) or as
// vendor_options (typed API) that make a vendor bill more than the ledger
// prices, or bill several answers for the one returned (audit hostile3,
// findings 2, 3, 5 and 6): each is refused before any vendor is asked, named
// as the caller wrote it, and what costs nothing extra still goes through.
import Anthropic from "@anthropic-ai/sdk";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";

const GEMINI_KEY = "AIzaSyUpstreamSecret0123456789abcdefXYZ";

let world: ThreeVendors;
let gemini: GeminiFake;
let sdk: Anthropic;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: GEMINI_KEY });
  world = await startThreeVendors({ env: { GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: gemini.baseUrl }, file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
  await gemini?.close();
});

/** Every vendor's chat requests so far: a refused call adds none. */
const asked = () => [...(["anthropic", "openai", "dashscope"] as const).map((vendor) => world.chatRequests(vendor).length), gemini.generateRequests().length];

const post = (path: string, body: JsonObject) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** A REST call's 400, checked to have reached no vendor: the field it names and its message. */
async function refusedOnRest(path: string, body: JsonObject): Promise<{ param: string | null; message: string }> {
  const before = asked();
  const res = await post(path, body);
  const { error } = (await res.json()) as { error: { message: string; param: string | null } };
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(asked()).toEqual(before);
  return error;
}

/** A typed call's InvalidArgument, checked to have reached no vendor: the fields its BadRequest names. */
async function refusedOnConnect(model: string, vendorOptions: JsonObject): Promise<string[]> {
  const before = asked();
  const err = await failure(world.gw.client("connect").chat({ model, messages: [{ role: Role.USER, content: "hi" }], maxTokens: 10, vendorOptions }));
  expect(err.code, JSON.stringify(vendorOptions)).toBe(Code.InvalidArgument);
  expect(asked()).toEqual(before);
  return err.findDetails(BadRequestSchema)[0]!.fieldViolations.map((violation) => violation.field);
}

const chat = (model: string, own: JsonObject) => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5, ...own });
const response = (model: string, own: JsonObject) => ({ model, input: "hi", max_output_tokens: 16, ...own });

describe("web search switched on by a vendor's own field", () => {
  it.each([
    [{ enable_search: true }, "enable_search"],
    [{ enable_search: "yes" }, "enable_search"],
    [{ search_options: { forced_search: true, search_strategy: "max" } }, "search_options"],
    [{ enable_code_interpreter: true }, "enable_code_interpreter"],
    // Qianfan v2's web search, an unknown field to the OpenAI dialect.
    [{ web_search: { enable: true, search_num: 10 } }, "web_search"],
  ] as [JsonObject, string][])("%j is refused on /v1/chat/completions and /v1/responses, naming %s", async (own, field) => {
    for (const [path, body] of [["/v1/chat/completions", chat("qwen-plus", own)], ["/v1/responses", response("qwen-plus", own)]] as const) {
      const error = await refusedOnRest(path, body);
      expect(error.message, path).toMatch(new RegExp(`^${field}: .*(billed|tool)`));
      expect(error.param, path).toBe(field);
    }
  });

  it("is refused as a typed vendor option, naming vendor_options", async () => {
    expect(await refusedOnConnect("qwen-plus", { enable_search: true, search_options: { search_strategy: "agent" } })).toEqual(["vendor_options.enable_search", "vendor_options.search_options"]);
  });

  it("switched off, goes on to the vendor", async () => {
    const res = await post("/v1/chat/completions", chat("qwen-plus", { enable_search: false, web_search: { enable: false } }));
    expect(res.status).toBe(200);
    expect(world.chatRequests("dashscope").at(-1)!.parameters).toMatchObject({ enable_search: false, web_search: { enable: false } });
  });
});

describe("several answers asked for, all billed while one is returned", () => {
  it.each([[{ best_of: 4 }, "best_of"], [{ num_return_sequences: 4 }, "num_return_sequences"], [{ n: 3 }, "n"]] as [JsonObject, string][])(
    "%j is refused on both REST surfaces, naming the caller's field %s",
    async (own, field) => {
      for (const [path, body] of [["/v1/chat/completions", chat("gpt-4o-mini", own)], ["/v1/responses", response("gpt-4o-mini", own)]] as const) {
        const error = await refusedOnRest(path, body);
        expect(error.message, path).toMatch(new RegExp(`^${field}: must be 1`));
        expect(error.param, path).toBe(field);
      }
    },
  );

  it("DashScope's n under parameters is refused as a typed vendor option", async () => {
    expect(await refusedOnConnect("qwen-plus", { parameters: { n: 4 } })).toEqual(["vendor_options.parameters.n"]);
  });

  it("one answer asked for goes on", async () => {
    const res = await post("/v1/chat/completions", chat("gpt-4o-mini", { best_of: 1, num_return_sequences: 1 }));
    expect(res.status).toBe(200);
    expect(world.chatRequests("openai").at(-1)).toMatchObject({ best_of: 1, num_return_sequences: 1 });
  });
});

describe("Gemini's generation config, in either of the spellings its REST API reads", () => {
  it.each([
    [{ generationConfig: { candidate_count: 8 } }, "vendor_options.generationConfig.candidate_count"],
    [{ generation_config: { candidateCount: 2 } }, "vendor_options.generation_config.candidateCount"],
    [{ generation_config: { candidate_count: 8 } }, "vendor_options.generation_config.candidate_count"],
    [{ generation_config: { max_output_tokens: 65_536 } }, "vendor_options.generation_config.max_output_tokens"],
    [{ generationConfig: { thinkingConfig: { thinkingBudget: 24_576 } } }, "vendor_options.generationConfig.thinkingConfig.thinkingBudget"],
    [{ generationConfig: { thinking_config: { thinking_budget: 24_576 } } }, "vendor_options.generationConfig.thinking_config.thinking_budget"],
    [{ generation_config: { thinkingConfig: { thinkingBudget: 24_576 } } }, "vendor_options.generation_config.thinkingConfig.thinkingBudget"],
  ] as [JsonObject, string][])("%j is refused, naming %s", async (vendorOptions, field) => {
    expect(await refusedOnConnect("gemini-2.5-flash", vendorOptions)).toEqual([field]);
  });

  it("one candidate, and thoughts without a budget, go on", async () => {
    await world.gw.client("connect").chat({
      model: "gemini-2.5-flash",
      messages: [{ role: Role.USER, content: "hi" }],
      maxTokens: 10,
      vendorOptions: { generationConfig: { candidateCount: 1, thinkingConfig: { includeThoughts: true } } },
    });
    expect(gemini.generateRequests().at(-1)!.generationConfig).toMatchObject({ candidateCount: 1, thinkingConfig: { includeThoughts: true }, maxOutputTokens: 10 });
  });
});

describe("Anthropic's context management on /v1/messages", () => {
  const conversation = { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user" as const, content: "x" }] };

  it("compaction, billed in usage.iterations apart from the answer's tokens, is refused naming the edit", async () => {
    const before = asked();
    const err = await sdk.messages
      .create(
        { ...conversation, context_management: { edits: [{ type: "clear_tool_uses_20250919" }, { type: "compact_20260112", trigger: { type: "input_tokens", value: 50_000 } }] } } as any,
        { headers: { "anthropic-beta": "compact-2026-01-12,context-management-2025-06-27" } },
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.message).toMatch(/^context_management: edits\[1\] is "compact_20260112": only edits that clear/);
    expect(asked()).toEqual(before);
  });

  it("the compaction field of its own is refused", async () => {
    const before = asked();
    const err = await sdk.messages.create({ ...conversation, compaction: { type: "summarize" } } as any, { headers: { "anthropic-beta": "compact-2026-09-04" } }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.message).toMatch(/^compaction: /);
    expect(asked()).toEqual(before);
  });

  it("clearing old tool results, which costs nothing extra, goes on", async () => {
    const management = { edits: [{ type: "clear_tool_uses_20250919", trigger: { type: "input_tokens", value: 30_000 } }] };
    await sdk.messages.create({ ...conversation, context_management: management } as any, { headers: { "anthropic-beta": "context-management-2025-06-27" } });
    expect(world.chatRequests("anthropic").at(-1)).toMatchObject({ context_management: management });
  });

  it("compaction is refused as a typed vendor option too", async () => {
    expect(await refusedOnConnect("claude-sonnet-4-5", { context_management: { edits: [{ type: "compact_20260112" }] } })).toEqual(["vendor_options.context_management"]);
  });
});
