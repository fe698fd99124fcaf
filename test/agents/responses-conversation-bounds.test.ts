// What a continuation and its stored conversation may hold together, and what
// text a REST body may hold (/tmp/audit-agents.md, findings 2 and 3): a
// continuation is held to one call's 10,000 messages and 50,000 content
// blocks with what it continues, judged from counts stored with the response
// before its conversation is read; a lone surrogate is refused where the body
// is read, on every REST surface, naming its field, and one stored before that
// still reads.
import { describe, expect, it } from "vitest";
import { MAX_CONTENT_BLOCKS, MAX_MESSAGES } from "../../src/providers/call-size.js";
import { storedResponsesWorld } from "./support/stored-responses-world.js";
import { PNG } from "./support/three-vendors.js";

const MODEL = "gpt-4o-mini";
const world = storedResponsesWorld();

const post = (path: string, secret: string, body: unknown) =>
  fetch(`${world.gw.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "x-api-key": secret, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const users = (n: number) => Array.from({ length: n }, (_, i) => ({ role: "user", content: `m${i}` }));
/** A message of `n` parts, kept as parts (an image among them: text alone is joined into one). */
const partsMessage = (n: number) => [
  { role: "user", content: [{ type: "input_image", image_url: `data:image/png;base64,${PNG}` }, ...Array.from({ length: n - 1 }, () => ({ type: "input_text", text: "a" }))] },
];

async function created(secret: string, body: Record<string, unknown>): Promise<string> {
  const res = await post("/v1/responses", secret, { model: MODEL, max_output_tokens: 4, ...body });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

const vendorCalls = () => world.requests("openai").length;

describe("a continuation past a call's bounds with what it continues", () => {
  it.each([
    // What is stored counts the answer too (one message, no blocks): the stored conversation and these are one past the bound.
    ["messages", () => ({ first: users(6_000), then: users(MAX_MESSAGES - 6_000), stored: { messages: 6_001, blocks: 0 } }), `at most ${MAX_MESSAGES} messages`],
    ["content blocks", () => ({ first: partsMessage(30_000), then: partsMessage(MAX_CONTENT_BLOCKS - 29_999), stored: { messages: 2, blocks: 30_000 } }), `at most ${MAX_CONTENT_BLOCKS} content blocks`],
  ])("of %s is refused before the vendor, naming previous_response_id; one within them is answered", async (what, sizes, said) => {
    const { first, then, stored } = sizes();
    const { secret } = await world.keyFor(`bounds-${what.replace(" ", "-")}`);
    const id = await created(secret, { input: first });
    const { rows } = await world.db.query("SELECT message_count, block_count FROM stored_responses WHERE id = $1", [id]);
    expect({ messages: rows[0].message_count, blocks: rows[0].block_count }).toEqual(stored);

    const before = vendorCalls();
    const refused = async () => {
      const res = await post("/v1/responses", secret, { model: MODEL, previous_response_id: id, input: then });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { param: string; type: string; message: string } };
      expect(error).toMatchObject({ param: "previous_response_id", type: "invalid_request_error" });
      expect(error.message).toContain(said);
    };
    await refused();
    // A row stored before the counts were (NULL) is counted once read, still before the vendor.
    await world.db.query("UPDATE stored_responses SET message_count = NULL, block_count = NULL WHERE id = $1", [id]);
    await refused();
    expect(vendorCalls()).toBe(before);
    await created(secret, { previous_response_id: id, input: "go on" });
  });
});

describe("a lone surrogate in a REST body", () => {
  it.each([
    ["/v1/responses", { model: MODEL, input: "cut \ud83d" }, "input"],
    ["/v1/responses", { model: MODEL, input: [{ role: "user", content: [{ type: "input_text", text: "\udc00 low" }] }] }, "input[0].content[0].text"],
    ["/v1/responses", { model: MODEL, input: [{ type: "function_call_output", call_id: "c", output: "out \ud83d" }] }, "input[0].output"],
    ["/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: "x\ud800" }] }, "messages[0].content"],
  ])("on %s is refused where the body is read, naming %j", async (path, body, param) => {
    const { secret } = await world.keyFor(`surrogate-${Math.random().toString(36).slice(2)}`);
    const before = vendorCalls();
    const res = await post(path, secret, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ param, type: "invalid_request_error" });
    expect(vendorCalls()).toBe(before);
    expect((await world.keptBy(secret)).responses).toBe(0);
  });

  it("on /v1/messages is refused in Anthropic's shape", async () => {
    const { secret } = await world.keyFor("surrogate-anthropic");
    const res = await post("/v1/messages", secret, { model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "x\ud800" }] });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(answer).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(answer.error.message).toContain("messages[0].content");
  });

  it("whole (a surrogate pair, escaped) is text as any other", async () => {
    const { secret } = await world.keyFor("surrogate-pair");
    await created(secret, { input: "a smile \ud83d\ude00".replace("\ud83d\ude00", "\\ud83d\\ude00") });
    await created(secret, { input: "a smile \ud83d\ude00" });
  });

  it("in a response stored before they were refused is read as U+FFFD: it lists and continues, not 500", async () => {
    const { secret } = await world.keyFor("poisoned");
    const id = await created(secret, { input: "clean" });
    // As the gateway stored it before: the escape, in its proto JSON.
    const conversation = JSON.stringify([{ role: "ROLE_USER", content: "cut \ud83d" }, { role: "ROLE_ASSISTANT", content: "ok" }]);
    await world.db.query("UPDATE stored_responses SET conversation = $2, message_count = NULL, block_count = NULL WHERE id = $1", [id, conversation]);
    const items = await fetch(`${world.gw.url}/v1/responses/${id}/input_items`, { headers: { authorization: `Bearer ${secret}` } });
    expect(items.status).toBe(200);
    expect(((await items.json()) as { data: unknown[] }).data).toMatchObject([{ type: "message", content: [{ type: "input_text", text: "cut \ufffd" }] }]);
    const before = vendorCalls();
    await created(secret, { previous_response_id: id, input: "next" });
    expect(JSON.stringify(world.requests("openai").slice(before)[0])).toContain("cut \ufffd");
  });
});
