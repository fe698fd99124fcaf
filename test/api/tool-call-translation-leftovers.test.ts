// Issues 12/14 (translation leftovers), through the official clients: a
// function call OpenAI's Responses API answers whole without a call_id gets an
// id unique across answers, which a Claude follow-up turn pairs its
// tool_result with; an assistant turn's tool call with an empty name is
// refused on every surface, naming the caller's field in its own spelling,
// before any vendor is asked.
import type { ServerResponse } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import { Code } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { fromResponsesAnswer } from "../../src/providers/openai-responses/upstream-answer.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startFakeServer, sendJson, type FakeServer } from "../fakes/fake-server.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const OPENAI_KEY = "sk-xlate-openai-0123456789abcdef";
/** Served on OpenAI's Responses API only (the catalogue's wire.endpoint). */
const CODEX = "openai/gpt-5-codex";
const LOOKUP = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object" as const, properties: { query: { type: "string" } } } };
const USAGE = { input_tokens: 5, output_tokens: 3, total_tokens: 8 };

/** A whole Response whose function call has no call_id (as a Responses-compatible server may answer). */
function callWithoutId(id: string): Record<string, unknown> {
  return { id, object: "response", status: "completed", model: "gpt-5-codex", output: [{ type: "function_call", id: "fc_1", name: "lookup", arguments: '{"query":"x"}' }], usage: USAGE };
}

let vendor: FakeServer;
let gw: TestGateway;
let answers = 0;

beforeAll(async () => {
  vendor = await startFakeServer((req, res: ServerResponse) => {
    if (req.path !== "/v1/responses") throw new Error(`no answer scripted for ${req.path}`);
    const { input } = req.body as { input: { type?: string }[] };
    const id = `resp_${++answers}`;
    if (input.at(-1)?.type !== "function_call_output") return sendJson(res, 200, callWithoutId(id));
    sendJson(res, 200, { id, object: "response", status: "completed", model: "gpt-5-codex", output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "done", annotations: [] }] }], usage: USAGE });
  });
  gw = await startGateway(
    { XLATE_OPENAI_KEY: OPENAI_KEY },
    { providers: { openai: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:XLATE_OPENAI_KEY" } }, traffic: { retry: { max_attempts: 1 } } },
  );
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

describe("a function call OpenAI's Responses API answers whole without a call_id", () => {
  const ctx = { provider: "openai", credential: createCredential("openai/test", OPENAI_KEY) };

  it("gets an id made up from the answer's, unique across answers", () => {
    const ids = ["resp_1", "resp_2"].map((id) => fromResponsesAnswer(callWithoutId(id), ctx).message.toolCalls[0]!.id);
    expect(ids).toEqual(["call_0_resp1", "call_0_resp2"]);
  });

  it("/v1/messages: the tool_use has that id, and the next turn's tool_result is paired with it", async () => {
    const sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const question = { role: "user" as const, content: "look it up" };
    const turn = () => sdk.messages.create({ model: CODEX, max_tokens: 64, tools: [LOOKUP], messages: [question] });
    const [first, second] = [await turn(), await turn()];
    const use = first.content.find((block) => block.type === "tool_use")!;
    expect(use).toMatchObject({ type: "tool_use", id: expect.stringMatching(/^call_0_resp/), name: "lookup", input: { query: "x" } });
    expect(second.content.find((block) => block.type === "tool_use")!.id).not.toBe(use.id);
    const next = await sdk.messages.create({
      model: CODEX,
      max_tokens: 64,
      tools: [LOOKUP],
      messages: [question, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "found" }] }],
    });
    expect(next.content).toMatchObject([{ type: "text", text: "done" }]);
    const sent = (vendor.requests.at(-1)!.body as { input: { type?: string; call_id?: string }[] }).input;
    expect(sent.filter((item) => item.type === "function_call" || item.type === "function_call_output").map((item) => item.call_id)).toEqual([use.id, use.id]);
  });
});

describe("an assistant turn's tool call with an empty name", () => {
  const openai = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });

  /** The caller's 400 from an OpenAI-shaped surface, checked to have reached no vendor. */
  async function openAIRefusal(call: () => Promise<unknown>): Promise<{ message: string; param?: string | null }> {
    const asked = vendor.requests.length;
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect(vendor.requests.length).toBe(asked);
    return (err as InstanceType<typeof OpenAI.BadRequestError>).error as { message: string; param?: string | null };
  }

  it.each(["connect", "grpc"] as const)("over %s: InvalidArgument naming messages[i].tool_calls[j].name", async (protocol) => {
    const asked = vendor.requests.length;
    const err = await failure(
      gw.client(protocol).chat({
        model: "openai/gpt-4o-mini",
        messages: [
          { role: Role.USER, content: "look it up" },
          { role: Role.ASSISTANT, toolCalls: [{ id: "call_a", name: "lookup", arguments: "{}" }, { id: "call_b", name: "", arguments: "{}" }] },
          { role: Role.TOOL, toolCallId: "call_a", content: "found" },
          { role: Role.TOOL, toolCallId: "call_b", content: "found" },
        ],
        tools: [{ name: "lookup" }],
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["messages[1].tool_calls[1].name"]);
    expect(vendor.requests.length).toBe(asked);
  });

  it("/v1/chat/completions: a 400 naming messages[i].tool_calls[j].function.name", async () => {
    const error = await openAIRefusal(() =>
      openai().chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [
          { role: "user", content: "look it up" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_a", type: "function", function: { name: "", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "call_a", content: "found" },
        ],
      }),
    );
    expect(error).toMatchObject({ param: "messages[1].tool_calls[0].function.name", message: expect.stringContaining("is required") });
  });

  it("/v1/chat/completions: a legacy function_call is named at messages[i].function_call.name", async () => {
    const error = await openAIRefusal(() =>
      openai().chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [
          { role: "user", content: "look it up" },
          { role: "assistant", content: null, function_call: { name: "", arguments: "{}" } },
          { role: "user", content: "well?" },
        ],
      }),
    );
    expect(error).toMatchObject({ param: "messages[1].function_call.name", message: expect.stringContaining("is required") });
  });

  it("/v1/responses: a 400 naming the function_call item's name", async () => {
    const error = await openAIRefusal(() =>
      openai().responses.create({
        model: "openai/gpt-4o-mini",
        input: [
          { role: "user", content: "look it up" },
          { type: "message", role: "assistant", content: "Looking." },
          { type: "function_call", call_id: "call_a", name: "lookup", arguments: "{}" },
          { type: "function_call", call_id: "call_b", name: "", arguments: "{}" },
          { type: "function_call_output", call_id: "call_a", output: "found" },
          { type: "function_call_output", call_id: "call_b", output: "found" },
        ],
      }),
    );
    expect(error).toMatchObject({ param: "input[3].name", message: expect.stringContaining("is required") });
  });
});
