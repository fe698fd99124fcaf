// What the storage limits of /v1/responses do to a paid answer, through the
// official OpenAI SDK with its default options: an answer that takes its
// response past SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE is the caller's all
// the same, unstored and saying so; calls admitted together reserve room for
// their answers too, so a burst stays within SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY;
// and a key whose storage is full is told not to retry.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { NOT_STORED_HEADER } from "../../src/api/openai/responses-surface.js";
import { storedResponsesWorld } from "./support/stored-responses-world.js";

const MODEL = "gpt-4o-mini";
/** One response may hold about 5 KB, one key about 20 KB (small: the fake vendor streams an answer 4 characters a chunk). */
const PER_RESPONSE_BYTES = Math.round(0.005 * 1024 * 1024);
const PER_KEY_BYTES = Math.round(0.02 * 1024 * 1024);

const world = storedResponsesWorld({ SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE: "0.005", SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY: "0.02" });
const { keptBy } = world;

/** An SDK with its default options (retries included) for a new key. */
async function sdkFor(keyId: string): Promise<OpenAI> {
  return (await world.keyFor(keyId)).sdk;
}

/** The text of a Response's message items (the SDK adds `output_text` to a unary one only). */
function outputText(response: OpenAI.Responses.Response): string {
  return response.output.flatMap((item) => (item.type === "message" ? item.content.map((part) => (part.type === "output_text" ? part.text : "")) : [])).join("");
}

/** Whether a Response says it is stored (OpenAI's Responses carry `store`; this SDK's type leaves it out). */
function storeOf(response: OpenAI.Responses.Response): unknown {
  return (response as unknown as { store?: unknown }).store;
}

/** The ledger's rows of a key, once written. */
async function ledgerOf(keyId: string, rows: number): Promise<{ method: string; status: string; completion_tokens: string }[]> {
  let found: { method: string; status: string; completion_tokens: string }[] = [];
  await expect.poll(async () => (found = (await world.db.query("SELECT method, status, completion_tokens FROM usage_ledger WHERE key_id = $1", [keyId])).rows).length).toBe(rows);
  return found;
}

describe("an answer that takes its response past what one may hold", () => {
  // The fake vendor echoes the input: 2 KB in, 2 KB out, kept in the conversation and in the Response: about 7 KB.
  const input = "y".repeat(2_000);

  it("is answered, paid for and unstored, saying so (store: false, a header and a log line), unary and streamed", async () => {
    const sdk = await sdkFor("big-answer");
    const { data: unary, response } = await sdk.responses.create({ model: MODEL, input }).withResponse();
    expect(unary.output_text === `Echo: ${input}`).toBe(true);
    expect(unary.status).toBe("completed");
    expect(storeOf(unary)).toBe(false);
    expect(response.headers.get(NOT_STORED_HEADER)).toBe("response_too_large");
    await expect(sdk.responses.retrieve(unary.id)).rejects.toMatchObject({ status: 404 });

    const streamed = await sdk.responses.stream({ model: MODEL, input }).finalResponse();
    expect(outputText(streamed) === `Echo: ${input}`).toBe(true);
    expect(streamed.status).toBe("completed");
    expect(storeOf(streamed)).toBe(false);

    expect(await keptBy("big-answer")).toEqual({ responses: 0, bytes: 0 });
    const said = world.gw.logs.entries.filter((line) => line.keyId === "big-answer" && /answered but not stored/.test(line.msg));
    expect(said.map((line) => line.responseId)).toEqual([unary.id, streamed.id]);
    expect(said[0]).toMatchObject({ limitBytes: PER_RESPONSE_BYTES });
    expect(said[0]!.bytes).toBeGreaterThan(PER_RESPONSE_BYTES);
    const rows = await ledgerOf("big-answer", 2);
    expect(rows.map((row) => row.status)).toEqual(["ok", "ok"]);
    for (const row of rows) expect(Number(row.completion_tokens)).toBeGreaterThan(0);
  });

  it("is still stored when it fits, and a call whose input alone is past it is refused before the vendor is asked, told to send store: false", async () => {
    const sdk = await sdkFor("input-too-large");
    const small = await sdk.responses.create({ model: MODEL, input: "hello" });
    expect(storeOf(small)).toBe(true);
    expect((await sdk.responses.retrieve(small.id)).id).toBe(small.id);

    const asked = world.chatRequests("openai").length;
    const refused = await sdk.responses.create({ model: MODEL, input: "z".repeat(6_000) }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const error = (refused as InstanceType<typeof OpenAI.BadRequestError>).error as { code: string; message: string };
    expect(error.code).toBe("response_too_large");
    expect(error.message).toMatch(/send store: false/);
    // It continued nothing: nothing to start anew.
    expect(error.message).not.toMatch(/previous_response_id/);
    expect(world.chatRequests("openai")).toHaveLength(asked);
    // Unstored, it is answered.
    expect(storeOf(await sdk.responses.create({ model: MODEL, input: "z".repeat(6_000), store: false }))).toBe(false);
  });
});

describe("calls of one key admitted together", () => {
  it("reserve room for their answers too, so that what they store stays within the key's limit, and give back what they did not use", async () => {
    const sdk = await sdkFor("burst");
    // Each stores about 2.6 KB (600 bytes in, 600 echoed, kept twice), and may store up to about 1 KB + 500 tokens of answer.
    const call = () => sdk.responses.create({ model: MODEL, input: "w".repeat(600), max_output_tokens: 500 });
    const burst = await Promise.allSettled(Array.from({ length: 12 }, call));
    const refused = burst.filter((outcome) => outcome.status === "rejected");
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) expect(outcome.reason).toMatchObject({ status: 429, code: "responses_storage_full" });
    const kept = await keptBy("burst");
    expect(kept.responses).toBe(12 - refused.length);
    expect(kept.bytes).toBeLessThanOrEqual(PER_KEY_BYTES);
    // What the stored answers did not use was given back: a call that reserves all the room left (less 1 KB for its input and echo) is admitted.
    const room = PER_KEY_BYTES - kept.bytes;
    expect(storeOf(await sdk.responses.create({ model: MODEL, input: "again", max_output_tokens: Math.floor((room - 1_024) / 8) }))).toBe(true);
  });
});

describe("a key whose stored responses fill its limit", () => {
  it("is refused once, with x-should-retry: false, and the SDK does not retry", async () => {
    const sdk = await sdkFor("full");
    // About 4.7 KB kept each, and each reserves what one response may hold: the fifth has no room.
    for (let i = 0; i < 4; i++) await sdk.responses.create({ model: MODEL, input: `${i}`.repeat(1_300) });
    const refused = await sdk.responses.create({ model: MODEL, input: "one more" }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.code).toBe("responses_storage_full");
    expect(error.headers.get("x-should-retry")).toBe("false");
    const attempts = world.gw.logs.entries.filter((line) => line.keyId === "full" && line.status === "resource_exhausted");
    expect(attempts).toHaveLength(1);
  });
});
