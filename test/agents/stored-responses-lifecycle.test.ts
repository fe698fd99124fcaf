// Stored responses over their life, through the official OpenAI SDK with its
// default options: a continuation is judged by its key's admission before its
// stored conversation is read; a revoked key's responses are deleted; and the
// SDK's other stored-response methods answer (input items) or say clearly
// why they cannot (a stream of a stored response, a cancel).
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { storedResponsesWorld } from "./support/stored-responses-world.js";

const MODEL = "gpt-4o-mini";

const world = storedResponsesWorld();
const { keyFor } = world;

const continueWith = (secret: string, body: Record<string, unknown>) =>
  fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });

const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string } }).error });

/** Makes a stored conversation unreadable: a continuation that loaded it would fail (500), so one refused as asked was refused before the load. */
async function spoil(id: string): Promise<void> {
  expect((await world.db.query("UPDATE stored_responses SET conversation = 'not json' WHERE id = $1", [id])).rowCount).toBe(1);
}

describe("a continuation (previous_response_id)", () => {
  it("that its key's scope refuses is refused before its stored conversation is read, and recorded as a refusal", async () => {
    const { secret, sdk } = await keyFor("scoped", { allowedModels: [MODEL] });
    const first = await sdk.responses.create({ model: MODEL, input: "hello" });
    await spoil(first.id);
    expect(await errorOf(await continueWith(secret, { model: "claude-sonnet-4-5", previous_response_id: first.id, input: "go on" }))).toMatchObject({ status: 403, code: "model_not_allowed" });
    // The premise: a continuation its admission lets through reads the conversation, and fails on it.
    expect((await continueWith(secret, { model: MODEL, previous_response_id: first.id, input: "go on" })).status).toBe(500);
    await expect
      .poll(async () => (await world.db.query("SELECT method, surface, status FROM usage_ledger WHERE key_id = 'scoped' AND status <> 'ok'")).rows)
      .toEqual([{ method: "chat", surface: "openai_responses", status: "permission_denied" }]);
  });

  it("of a key whose budget is spent is refused before its stored conversation is read", async () => {
    // A millionth of a dollar: the first call spends it.
    const { secret, sdk } = await keyFor("spent", { budget: { limit: { units: 0n, nanos: 1_000 } } });
    const first = await sdk.responses.create({ model: MODEL, input: "hello" });
    await spoil(first.id);
    expect(await errorOf(await continueWith(secret, { model: MODEL, previous_response_id: first.id, input: "go on", stream: true }))).toMatchObject({ status: 429, code: "budget_exhausted" });
  });

  it("of a key past its request rate is refused before its stored conversation is read", async () => {
    const { secret, sdk } = await keyFor("one-a-minute", { requestsPerMinute: 1 });
    const first = await sdk.responses.create({ model: MODEL, input: "hello" });
    await spoil(first.id);
    expect(await errorOf(await continueWith(secret, { model: MODEL, previous_response_id: first.id, input: "go on" }))).toMatchObject({ status: 429, code: "rate_limited" });
  });
});

describe("a revoked key", () => {
  it("has its stored responses deleted; other keys' stay", async () => {
    const { sdk } = await keyFor("leaked");
    const { sdk: other } = await keyFor("bystander");
    for (const input of ["one", "two"]) await sdk.responses.create({ model: MODEL, input });
    await other.responses.create({ model: MODEL, input: "mine" });
    const count = async (keyId: string) => (await world.keptBy(keyId)).responses;
    expect(await count("leaked")).toBe(2);

    await world.admin.revokeKey({ name: "keys/leaked" });
    await expect.poll(() => count("leaked")).toBe(0);
    expect(await count("bystander")).toBe(1);
  });
});

describe("the SDK's other stored-response methods", () => {
  const LOOKUP: OpenAI.Responses.FunctionTool = { type: "function", name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } }, strict: false };

  it("retrieve with stream: true is refused naming stream, not answered with nothing", async () => {
    const { sdk } = await keyFor("retriever");
    const made = await sdk.responses.create({ model: MODEL, input: "hello" });
    const refused = await sdk.responses.retrieve(made.id, { stream: true }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, param: "stream", code: "invalid_argument" });
    expect((await sdk.responses.retrieve(made.id)).id).toBe(made.id);
  });

  it("inputItems.list gives what a response was answered from, newest first, a page at a time", async () => {
    const { sdk } = await keyFor("lister");
    const first = await sdk.responses.create({ model: MODEL, instructions: "be brief", input: "weather in Paris", tools: [LOOKUP] });
    const call = first.output.find((item) => item.type === "function_call")!;
    const second = await sdk.responses.create({
      model: MODEL,
      tools: [LOOKUP],
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny" }],
    });
    expect(second.output_text).toBe("Tool result: sunny");

    const items: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of sdk.responses.inputItems.list(second.id)) items.push(item);
    // The instructions are not kept; the answer itself is the response's output, not its input.
    expect(items.map((item) => [item.type, "role" in item ? item.role : "", "call_id" in item ? item.call_id : ""])).toEqual([
      ["function_call_output", "", call.call_id],
      ["function_call", "", call.call_id],
      ["message", "user", ""],
    ]);
    expect(items[0]).toMatchObject({ output: "sunny", status: "completed" });
    expect(items[1]).toMatchObject({ name: "lookup", arguments: call.arguments });
    expect(items[2]).toMatchObject({ content: [{ type: "input_text", text: "weather in Paris" }] });
    expect(new Set(items.map((item) => item.id)).size).toBe(3);

    // One at a time, oldest first: the SDK follows `after` from page to page.
    const paged: string[] = [];
    for await (const item of sdk.responses.inputItems.list(second.id, { limit: 1, order: "asc" })) paged.push(item.id);
    expect(paged).toEqual(items.map((item) => item.id).reverse());
    const page = await sdk.responses.inputItems.list(second.id, { limit: 1 });
    expect(page.has_more).toBe(true);
    const before = await sdk.responses.inputItems.list(second.id, { before: items[2]!.id } as OpenAI.Responses.InputItemListParams);
    expect(before.data.map((item) => item.id)).toEqual([items[0]!.id, items[1]!.id]);

    await expect(sdk.responses.inputItems.list(second.id, { limit: 101 })).rejects.toMatchObject({ status: 400, param: "limit" });
    const { sdk: stranger } = await keyFor("stranger");
    await expect(stranger.responses.inputItems.list(second.id)).rejects.toMatchObject({ status: 404, code: "response_not_found" });
  });

  it("inputItems.list reads and parses only the messages on its page, not the whole conversation", async () => {
    const { secret, sdk } = await keyFor("page-reader");
    const made = await sdk.responses.create({ model: MODEL, input: [{ role: "user", content: "first" }, { role: "user", content: "second" }, { role: "user", content: "third" }] });
    // The first message no longer parses (its "{" made "[", the text as long as before): a page holding it fails on it.
    expect((await world.db.query("UPDATE stored_responses SET conversation = '[[' || SUBSTR(conversation, 3) WHERE id = $1", [made.id])).rowCount).toBe(1);
    const list = (query: string) => fetch(`${world.gw.url}/v1/responses/${made.id}/input_items?${query}`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await list("order=asc&limit=1")).status).toBe(500);

    const newest = await sdk.responses.inputItems.list(made.id, { limit: 2 });
    expect(newest.data.map((item) => (item as OpenAI.Responses.ResponseInputMessageItem).content)).toEqual([
      [{ type: "input_text", text: "third" }],
      [{ type: "input_text", text: "second" }],
    ]);
    expect(newest.has_more).toBe(true);
  });

  it("cancel reads neither the Response nor its conversation: whether it is stored is all it asks", async () => {
    const { secret, sdk } = await keyFor("cheap-canceller");
    const made = await sdk.responses.create({ model: MODEL, input: "hello" });
    await spoil(made.id);
    expect((await world.db.query("UPDATE stored_responses SET response = 'not json' WHERE id = $1", [made.id])).rowCount).toBe(1);
    // The premise: what reads the Response fails on it.
    expect((await fetch(`${world.gw.url}/v1/responses/${made.id}`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(500);
    const refused = await sdk.responses.cancel(made.id).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, code: "response_not_cancellable" });
  });

  it("cancel is refused (400): background responses are not supported", async () => {
    const { sdk } = await keyFor("canceller");
    const made = await sdk.responses.create({ model: MODEL, input: "hello" });
    const refused = await sdk.responses.cancel(made.id).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, code: "response_not_cancellable" });
    expect((refused as Error).message).toMatch(/background responses are not supported/);
  });
});
