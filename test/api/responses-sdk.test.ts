// The official OpenAI TypeScript SDK's Responses API, with its default
// options, against the gateway's `/v1/responses`, for a model served by each
// of three vendors: Anthropic, OpenAI (Chat Completions behind), and Qwen on
// DashScope's native API. What the SDK's helpers yield is compared with what
// the fake vendor said; stored responses belong to the key that made them.
import { createClient } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { PNG, RATE_LIMITED, SERVED, startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const LOOKUP: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "lookup",
  description: "Looks a thing up.",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  strict: false,
};

let world: ThreeVendors;
let sdk: OpenAI;

beforeAll(async () => {
  // One attempt per call: a scripted vendor failure is the caller's failure.
  world = await startThreeVendors({ file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await world?.stop();
});

describe.each(SERVED)("the OpenAI TypeScript SDK's Responses API with a model served by $vendor", ({ vendor, model }) => {
  it("gets the vendor's answer, unary and through responses.stream(), every event numbered in turn", async () => {
    const answer = await sdk.responses.create({ model, input: "hello there" });
    expect(answer).toMatchObject({ object: "response", status: "completed", output_text: "Echo: hello there" });
    expect(answer.id).toMatch(/^resp_/);
    expect(answer.usage!.output_tokens).toBeGreaterThan(0);

    const stream = sdk.responses.stream({ model, input: "hello stream" });
    const deltas: string[] = [];
    const events: { type: string; sequence_number: number }[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    stream.on("event", (event) => events.push(event));
    const final = await stream.finalResponse();
    expect(deltas.join("")).toBe("Echo: hello stream");
    expect(outputText(final)).toBe("Echo: hello stream");
    expect(final.status).toBe("completed");
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((event) => event.type).filter((type, i, all) => type !== all[i - 1])).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("runs a tool loop: the vendor's function call exactly, streamed, then its answer to the output, with and without previous_response_id", async () => {
    const stream = sdk.responses.stream({ model, input: "weather in Paris", tools: [LOOKUP] });
    const argumentDeltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => argumentDeltas.push(event.delta));
    const first = await stream.finalResponse();
    const call = first.output.find((item) => item.type === "function_call")!;
    const made = world[vendor].toolCallsMade.at(-1)!;
    expect({ id: call.call_id, name: call.name, arguments: call.arguments }).toEqual(made);
    expect(argumentDeltas.join("")).toBe(made.arguments);

    // The client holds the conversation (as Codex does with store: false) ...
    const output = { type: "function_call_output" as const, call_id: call.call_id, output: "sunny, 21 °C" };
    const held = await sdk.responses.create({ model, tools: [LOOKUP], input: [{ role: "user", content: "weather in Paris" }, ...(first.output as OpenAI.Responses.ResponseInputItem[]), output] });
    expect(held.output_text).toBe("Tool result: sunny, 21 °C");
    // ... or the gateway does.
    const continued = await sdk.responses.create({ model, tools: [LOOKUP], previous_response_id: first.id, input: [output] });
    expect(continued.output_text).toBe("Tool result: sunny, 21 °C");
  });

  it(vendor === "dashscope" ? "refuses an image DashScope's text API cannot see" : "sends an image to the vendor", async () => {
    const input: OpenAI.Responses.ResponseInput = [
      { role: "user", content: [{ type: "input_image", image_url: `data:image/png;base64,${PNG}`, detail: "auto" }, { type: "input_text", text: "what is this" }] },
    ];
    if (vendor === "dashscope") {
      // The catalogue knows the model takes no images: refused before the vendor is asked, as on every surface
      // (a 400, which the SDK never retries).
      const before = world.requests(vendor).length;
      const refused = await sdk.responses.create({ model, input }).catch((e) => e);
      expect(refused).toMatchObject({ status: 400, code: "invalid_argument" });
      expect(refused.message).toContain("image");
      expect(world.requests(vendor).length).toBe(before);
      return;
    }
    const answer = await sdk.responses.create({ model, input });
    expect(answer.output_text).toBe("Echo: what is this");
    expect(JSON.stringify(world.chatRequests(vendor).at(-1)!.messages)).toContain(PNG);
  });

  it("reads errors the way the SDK does, and refuses built-in tools it cannot run", async () => {
    const stranger = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: "sk-not-a-gateway-key" });
    const unauthenticated = await stranger.responses.create({ model, input: "x" }).catch((e) => e);
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);

    const builtIn = await sdk.responses.create({ model, input: "x", tools: [{ type: "web_search" }] }).catch((e) => e);
    expect(builtIn).toBeInstanceOf(OpenAI.BadRequestError);
    expect(builtIn).toMatchObject({ status: 400, code: "invalid_argument", param: "tools[0].type" });
    expect(builtIn.message).toContain('built-in tool "web_search"');

    world[vendor].enqueue(RATE_LIMITED[vendor]);
    const limited = await sdk.responses.create({ model, input: "x" }, { maxRetries: 0 }).catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers.get("retry-after")).toBe("3");
  });
});

describe("stored responses", () => {
  const model = "gpt-4o-mini";
  let other: OpenAI;
  beforeAll(async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "another-team", key: { displayName: "another team" } });
    other = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: secret });
  });

  it("continue a conversation with previous_response_id: earlier turns go to the vendor, earlier instructions do not", async () => {
    const first = await sdk.responses.create({ model, instructions: "Be brief.", input: "my name is Ada" });
    const second = await sdk.responses.create({ model, instructions: "Be kind.", previous_response_id: first.id, input: "what is my name?" });
    expect(second.output_text).toBe("Echo: what is my name?");
    expect(second.previous_response_id).toBe(first.id);
    expect(world.chatRequests("openai").at(-1)!.messages).toEqual([
      { role: "system", content: "Be kind." },
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: "Echo: my name is Ada" },
      { role: "user", content: "what is my name?" },
    ]);
    const third = await sdk.responses.create({ model, previous_response_id: second.id, input: "and again?" });
    expect(world.chatRequests("openai").at(-1)!.messages.map((m: { content: string }) => m.content)).toEqual([
      "my name is Ada",
      "Echo: my name is Ada",
      "what is my name?",
      "Echo: what is my name?",
      "and again?",
    ]);
    expect(third.output_text).toBe("Echo: and again?");
  });

  it("belong to the key that made them: another key can neither read, continue nor delete one (404)", async () => {
    const mine = await sdk.responses.create({ model, input: "a private note" });
    expect((await sdk.responses.retrieve(mine.id)).output_text).toBe("Echo: a private note");

    const read = await other.responses.retrieve(mine.id).catch((e) => e);
    expect(read).toBeInstanceOf(OpenAI.NotFoundError);
    expect(read).toMatchObject({ status: 404, code: "response_not_found" });
    const continued = await other.responses.create({ model, previous_response_id: mine.id, input: "tell me" }).catch((e) => e);
    expect(continued).toBeInstanceOf(OpenAI.NotFoundError);
    expect(continued.param).toBeNull();
    expect(continued.message).toContain("previous_response_id");
    const deleted = await other.responses.delete(mine.id).catch((e) => e);
    expect(deleted).toBeInstanceOf(OpenAI.NotFoundError);

    // Still there for its owner, until the owner deletes it.
    expect((await sdk.responses.retrieve(mine.id)).id).toBe(mine.id);
    await sdk.responses.delete(mine.id);
    expect(await sdk.responses.retrieve(mine.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("keep nothing with store: false", async () => {
    const unkept = await sdk.responses.create({ model, input: "forget this", store: false });
    expect((unkept as unknown as { store: boolean }).store).toBe(false);
    expect(await sdk.responses.retrieve(unkept.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await sdk.responses.create({ model, previous_response_id: unkept.id, input: "x" }).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("keep a streamed response, whole, by the time response.completed arrives", async () => {
    const stream = sdk.responses.stream({ model, input: "stream and keep" });
    const final = await stream.finalResponse();
    const kept = await sdk.responses.retrieve(final.id);
    expect(kept.output_text).toBe(outputText(final));
    expect(kept.output).toEqual(final.output.map(({ parsed: _parsed, ...item }: any) => ({ ...item, content: item.content?.map(({ parsed: _p, ...part }: any) => part) })));
  });

  it("records every call in the ledger under the surface openai_responses", async () => {
    const admin = createClient(AdminService, world.gw.transport("connect"));
    const report = await admin.getUsageReport({ surface: "openai_responses", groupBy: [UsageDimension.PROVIDER] });
    expect(report.rows.map((row) => row.provider).sort()).toEqual(expect.arrayContaining(["anthropic", "dashscope", "openai"]));
    expect(Number(report.total!.requests)).toBeGreaterThanOrEqual(15);
  });
});

/** The text of a Response's messages (the SDK adds `output_text` to unary answers only). */
function outputText(response: OpenAI.Responses.Response): string {
  return response.output.flatMap((item) => (item.type === "message" ? item.content.map((part) => (part.type === "output_text" ? part.text : "")) : [])).join("");
}
