// The Anthropic SDK's message threads (beta `message-threads-2026-08-12`,
// which `beta.messages.toolRunner` uses by default) through the gateway,
// which holds the threads itself for every vendor: no vendor is sent `thread`,
// and each gets the whole conversation.
import Anthropic from "@anthropic-ai/sdk";
import { betaTool } from "@anthropic-ai/sdk/helpers/beta/json-schema";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const THREADED = [
  { vendor: "anthropic", model: "claude-sonnet-4-5" },
  { vendor: "openai", model: "gpt-4o-mini" },
] as const;

const lookup = betaTool({
  name: "lookup",
  description: "Looks a thing up.",
  inputSchema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  run: ({ query }) => `sunny, 21 °C in ${query.replace(/^weather in /, "")}`,
});

let world: ThreeVendors;
let sdk: Anthropic;
let otherKey: string;

beforeAll(async () => {
  world = await startThreeVendors({ file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY });
  const admin = createClient(AdminService, world.gw.transport("connect"));
  ({ secret: otherKey } = await admin.createKey({ keyId: "thread-stranger", key: { displayName: "another key" } }));
});
afterAll(async () => {
  await world?.stop();
});

/** The raw `/v1/messages` answer to `body`, sent with `key`. */
async function post(body: object, key = MASTER_KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`${world.gw.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01", "anthropic-beta": "message-threads-2026-08-12" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe.each(THREADED)("message threads with a model served by $vendor", ({ vendor, model }) => {
  it("runs the SDK's tool runner with its default options: the vendor gets the whole conversation, and no thread", async () => {
    const before = world.chatRequests(vendor).length;
    const runner = sdk.beta.messages.toolRunner({ model, max_tokens: 256, tools: [lookup], messages: [{ role: "user", content: "weather in Paris" }] });
    const final = await runner.runUntilDone();
    expect(final.content).toEqual([{ type: "text", text: "Tool result: sunny, 21 °C in Paris" }]);

    const sent = world.chatRequests(vendor).slice(before);
    expect(sent).toHaveLength(2);
    for (const body of sent) expect(body).not.toHaveProperty("thread");
    // The second turn: the question, the tool call and its result, with the tool still declared.
    expect(sent[1]!.messages).toHaveLength(3);
    expect(JSON.stringify(sent[1]!.messages)).toContain("weather in Paris");
    expect(sent[1]!.tools).toHaveLength(1);
    if (vendor === "anthropic") {
      for (const request of world.requests("anthropic").slice(-2)) expect(String(request.headers["anthropic-beta"] ?? "")).not.toContain("message-threads");
    }
  });

  it("serves client.beta.messages.thread(): send, then stream, each turn sending only the new message", async () => {
    const thread = sdk.beta.messages.thread({ model, max_tokens: 256, system: "Be brief." });
    const first = await thread.send({ role: "user", content: "hello there" });
    expect(first.content).toEqual([{ type: "text", text: "Echo: hello there" }]);
    expect(thread.previousMessageId).toBe(first.id);

    const stream = thread.stream({ role: "user", content: "and again" });
    const second = await stream.finalMessage();
    expect(second.content).toEqual([{ type: "text", text: "Echo: and again" }]);
    const third = await thread.send({ role: "user", content: "once more" });
    expect(third.content).toEqual([{ type: "text", text: "Echo: once more" }]);
    // The vendor got the whole conversation each time, the system prompt kept from the create turn.
    const last = JSON.stringify(world.chatRequests(vendor).at(-1));
    for (const said of ["hello there", "Echo: hello there", "and again", "Echo: and again", "once more", "Be brief."]) expect(last).toContain(said);
  });

  it("answers another key's id thread_not_found, on which the SDK replays the conversation under a new thread", async () => {
    const thread = sdk.beta.messages.thread({ model, max_tokens: 256 });
    const first = await thread.send({ role: "user", content: "hello there" });

    const stranger = await post({ model, max_tokens: 64, messages: [{ role: "user", content: "x" }], thread: { type: "continue", previous_message_id: first.id } }, otherKey);
    expect(stranger.status).toBe(404);
    expect(stranger.body.error).toMatchObject({ type: "not_found_error", details: { error_code: "thread_not_found" } });

    // The same thread's next turn sent with the other key: not found for it, so the SDK replays everything, created under that key.
    thread.update({}, { headers: { "x-api-key": null, authorization: `Bearer ${otherKey}` } });
    const before = world.chatRequests(vendor).length;
    const replayed = await thread.send({ role: "user", content: "are you there" });
    expect(replayed.content).toEqual([{ type: "text", text: "Echo: are you there" }]);
    expect(world.chatRequests(vendor).length - before).toBe(1);
    expect(JSON.stringify(world.chatRequests(vendor).at(-1)!.messages)).toContain("Echo: hello there");
    // And it continues from the replayed turn with that key.
    expect((await thread.send({ role: "user", content: "good" })).content).toEqual([{ type: "text", text: "Echo: good" }]);
  });

  it("refuses a thread continued twice (thread_already_continued), and the SDK replays from its own copy", async () => {
    const thread = sdk.beta.messages.thread({ model, max_tokens: 256 });
    const first = await thread.send({ role: "user", content: "hello there" });
    const continued = await post({ model, max_tokens: 64, messages: [{ role: "user", content: "side branch" }], thread: { type: "continue", previous_message_id: first.id } });
    expect(continued.status).toBe(200);
    expect(continued.body.content).toEqual([{ type: "text", text: "Echo: side branch" }]);

    const again = await post({ model, max_tokens: 64, messages: [{ role: "user", content: "x" }], thread: { type: "continue", previous_message_id: first.id } });
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ type: "invalid_request_error", details: { error_code: "thread_already_continued" } });

    const next = await thread.send({ role: "user", content: "main line" });
    expect(next.content).toEqual([{ type: "text", text: "Echo: main line" }]);
    expect(JSON.stringify(world.chatRequests(vendor).at(-1)!.messages)).not.toContain("side branch");
  });
});

describe("the thread field", () => {
  it("is refused by name when malformed, or when a continue repeats what the thread keeps", async () => {
    const shape = await post({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "x" }], thread: { type: "resume" } });
    expect(shape.status).toBe(400);
    expect(shape.body.error.message).toContain("thread.type");
    const repeated = await post({ model: "gpt-4o-mini", max_tokens: 64, system: "s", messages: [{ role: "user", content: "x" }], thread: { type: "continue", previous_message_id: "msg_1" } });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.message).toContain("system");
  });
});
