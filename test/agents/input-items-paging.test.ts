// A page of a stored response's input items costs a count per message and the
// messages on the page, not the whole conversation decoded and made items
// (/tmp/audit-agents.md, finding 1: one `limit=1` listing of a million
// reasoning blocks held the event loop for 15 s), nor read from the store and
// parsed (only the page's messages leave it, however large the rest). And a
// conversation stored before lone surrogates were refused still reads
// (finding 3).
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageSchema, Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { listingOf, type StoredListing } from "../../src/responses/conversation-index.js";
import { inputItemsPage, type InputItemsQuery } from "../../src/responses/input-items.js";
import { decodeMessage, encodeConversation, StoredResponses } from "../../src/responses/stored-responses.js";
import type { SqlDatabase, SqlRow } from "../../src/store/sql.js";
import { failure } from "../support/failure.js";
import { openMigratedDatabase, watchingReads, type StoreKind } from "../support/stores.js";

const ID = "resp_0123456789abcdef0123456789abcdef";

const user = (content: string) => create(MessageSchema, { role: Role.USER, content });
const stored = (messages: Message[]) => JSON.parse(encodeConversation(messages)) as JsonValue[];

/** The conversation as listed, noting the messages read (each request's, in order). */
function counted(messages: Message[]): { conversation: StoredListing; decoded: number[] } {
  const listed = listingOf(stored(messages));
  const decoded: number[] = [];
  return {
    decoded,
    conversation: {
      itemCounts: listed.itemCounts,
      messages: (indices) => {
        decoded.push(...[...indices].sort((a, b) => a - b));
        return listed.messages(indices);
      },
    },
  };
}

/** A page of a conversation still stored. */
async function inputItemsPageOf(responseId: string, conversation: StoredListing, query: InputItemsQuery) {
  const page = await inputItemsPage(responseId, conversation, query);
  expect(page).toBeDefined();
  return page!;
}

const query = (more: Partial<InputItemsQuery> = {}): InputItemsQuery => ({ limit: 20, order: "desc", ...more });

/** A conversation of every kind of item: text, reasoning (blocks and plain), a refusal, tool calls and their output. */
const MIXED: Message[] = [
  create(MessageSchema, { role: Role.SYSTEM, content: "be brief" }),
  user("hello"),
  create(MessageSchema, { role: Role.ASSISTANT, content: "thinking done", reasoning: [{ text: "a" }, { text: "b", signature: "s" }] }),
  create(MessageSchema, { role: Role.ASSISTANT, reasoningContent: "plain", toolCalls: [{ id: "c1", name: "f", arguments: "{}" }, { id: "c2", name: "g", arguments: "{}" }] }),
  create(MessageSchema, { role: Role.TOOL, toolCallId: "c1", content: "42" }),
  create(MessageSchema, { role: Role.TOOL, toolCallId: "c2", parts: [{ part: { case: "text", value: "43" } }] }),
  create(MessageSchema, { role: Role.ASSISTANT, refusal: "no" }),
  create(MessageSchema, { role: Role.ASSISTANT, content: "", toolCalls: [{ id: "c3", name: "h", arguments: "{}" }] }),
  create(MessageSchema, { role: Role.ASSISTANT }),
  user("bye"),
];

describe("a page of input items", () => {
  it("of a conversation of 55,000 items decodes only the messages on the page", async () => {
    const messages = [user("first"), create(MessageSchema, { role: Role.ASSISTANT, content: "ok", reasoning: Array.from({ length: 50_000 }, () => ({ text: "" })) })];
    for (let i = 0; i < 5_000; i++) messages.push(user(`m${i}`));
    const { conversation, decoded } = counted(messages);

    const newest = await inputItemsPageOf(ID, conversation, query({ limit: 3 }));
    expect((newest.data as { content: { text: string }[] }[]).map((item) => item.content[0]!.text)).toEqual(["m4999", "m4998", "m4997"]);
    expect(newest.has_more).toBe(true);
    expect(decoded).toEqual([4_999, 5_000, 5_001]);

    decoded.length = 0;
    const oldest = await inputItemsPageOf(ID, conversation, query({ limit: 2, order: "asc" }));
    expect((oldest.data as { type: string }[]).map((item) => item.type)).toEqual(["message", "reasoning"]);
    expect(decoded).toEqual([0, 1]);

    // A cursor is found by its number, its one message read with the page's to check it.
    decoded.length = 0;
    const after = await inputItemsPageOf(ID, conversation, query({ limit: 2, after: String(newest.last_id) }));
    expect((after.data as { content: { text: string }[] }[]).map((item) => item.content[0]!.text)).toEqual(["m4996", "m4995"]);
    expect(decoded).toEqual([4_997, 4_998, 4_999]);
  });

  it("is the same slice of the whole list, whichever order and cursor", async () => {
    const { conversation } = counted(MIXED);
    const all = (await inputItemsPageOf(ID, conversation, query({ limit: 100, order: "asc" }))).data as { id: string; type: string }[];
    expect(all.map((item) => item.type)).toEqual([
      "message",
      "message",
      "reasoning",
      "reasoning",
      "message",
      "reasoning",
      "function_call",
      "function_call",
      "function_call_output",
      "function_call_output",
      "message",
      "function_call",
      "message",
      "message",
    ]);
    expect(all.map((item) => item.id)).toEqual(all.map((item, i) => `${item.id.split("_")[0]}_0123456789abcdef0123456789abcdef_in${String(i).padStart(2, "0")}`));
    const ids = all.map((item) => item.id);
    for (const order of ["asc", "desc"] as const) {
      const listed = order === "asc" ? ids : [...ids].reverse();
      for (let i = 0; i < listed.length; i++) {
        const page = await inputItemsPageOf(ID, conversation, query({ order, limit: 3, after: listed[i] }));
        expect((page.data as { id: string }[]).map((item) => item.id)).toEqual(listed.slice(i + 1, i + 4));
        expect(page.has_more).toBe(listed.length > i + 4);
        const before = await inputItemsPageOf(ID, conversation, query({ order, limit: 100, before: listed[i] }));
        expect((before.data as { id: string }[]).map((item) => item.id)).toEqual(listed.slice(0, i));
      }
    }
  });

  it.each([
    ["an id of another kind at that place", (id: string) => id.replace(/^msg_/, "fc_")],
    ["an id past the end", (id: string) => id.replace(/in00$/, "in99")],
    ["a number written otherwise", (id: string) => id.replace(/in00$/, "in000")],
    ["another response's id", (id: string) => id.replace("0123", "3210")],
  ])("refuses %s as a cursor, naming it", async (_, spoilId) => {
    const { conversation } = counted(MIXED);
    const first = String((await inputItemsPageOf(ID, conversation, query({ order: "asc", limit: 1 }))).first_id);
    const err = await failure(inputItemsPage(ID, conversation, query({ after: spoilId(first) })));
    expect(err.message).toContain("after: response");
  });
});

/** Characters of every width before a large message (about 1 MB), then two short ones: what a page reads of them is what it lists. */
const WIDE: Message[] = [
  // Two, three and four bytes (a surrogate pair in JavaScript, one character in SQL), and a lone surrogate (stored escaped).
  user("é 中文 😀 cut \ud83d"),
  create(MessageSchema, { role: Role.ASSISTANT, content: "thought a lot", reasoning: Array.from({ length: 2_000 }, () => ({ text: "r".repeat(500) })) }),
  user("😀😀😀"),
  user("last question"),
];

const textsOf = (page: JsonObject) => (page.data as { content?: { text: string }[] }[]).map((item) => item.content?.[0]?.text);

describe.each<StoreKind>(["sqlite", "postgres"])("a page read from the store on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  /** Every row the store's queries returned, to see what was read. */
  const rowsRead: SqlRow[] = [];
  let watched: SqlDatabase;
  /** The longest value any query returned since the last call. */
  const longestRead = () => Math.max(0, ...rowsRead.splice(0).flatMap((row) => Object.values(row).map((value) => String(value ?? "").length)));

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    watched = watchingReads(db, rowsRead);
  });
  afterAll(async () => {
    await db?.close();
    await drop();
  });

  async function pageOf(store: StoredResponses, id: string, more: Partial<InputItemsQuery>) {
    const listing = await store.listing(id, "pages");
    expect(listing).toBeDefined();
    return inputItemsPageOf(id, listing!, query(more));
  }

  it("reads only the messages on the page (and its cursor's), however large the rest, counting characters as SQL does", async () => {
    const id = `resp_wide_${kind}`;
    await new StoredResponses(db).put(id, "pages", { conversation: WIDE, response: {} });
    const store = new StoredResponses(watched);
    longestRead();

    const newest = await pageOf(store, id, { limit: 1 });
    expect(textsOf(newest)).toEqual(["last question"]);
    const next = await pageOf(store, id, { limit: 1, after: String(newest.last_id) });
    expect(textsOf(next)).toEqual(["😀😀😀"]);
    const oldest = await pageOf(store, id, { limit: 1, order: "asc" });
    expect(textsOf(oldest)).toEqual(["é 中文 😀 cut \ufffd"]);
    // The index (a few numbers a message) and the page's messages: nothing near the 1 MB message.
    expect(longestRead()).toBeLessThan(200);

    // Each page is what the parsed conversation lists.
    const { conversation } = counted(WIDE);
    for (const more of [{ limit: 100 }, { limit: 100, order: "asc" as const }, { limit: 3, after: String(next.last_id) }]) {
      expect(await pageOf(store, id, more)).toEqual(await inputItemsPageOf(id, conversation, query(more)));
    }
  });

  it("reads a response stored before conversations were indexed, or whose index does not fit its text, whole: the same pages", async () => {
    const id = `resp_unindexed_${kind}`;
    await new StoredResponses(db).put(id, "pages", { conversation: WIDE, response: {} });
    const store = new StoredResponses(watched);
    const pages = async () => [await pageOf(store, id, { limit: 2 }), await pageOf(store, id, { limit: 1, order: "asc" })];
    longestRead();
    const indexed = await pages();
    expect(longestRead()).toBeLessThan(200);

    await db.run("UPDATE stored_responses SET message_index = NULL WHERE id = $1", [id]);
    expect(await pages()).toEqual(indexed);
    expect(longestRead()).toBeGreaterThan(1_000_000);

    // As a database counting characters otherwise would find it: each message a character longer than its index says.
    await new StoredResponses(db).put(`${id}_again`, "pages", { conversation: WIDE, response: {} });
    const [row] = await db.query("SELECT message_index FROM stored_responses WHERE id = $1", [`${id}_again`]);
    const off = (JSON.parse(String(row!.message_index)) as number[]).map((n, i) => (i % 2 === 1 ? n - 1 : n));
    await db.run("UPDATE stored_responses SET message_index = $2 WHERE id = $1", [id, JSON.stringify(off)]);
    expect(await pages()).toEqual(indexed);
    expect(longestRead()).toBeGreaterThan(1_000_000);
  });

  it("lists a response past what one may hold now from its index, and refuses one it would have to read whole", async () => {
    const id = `resp_grown_${kind}`;
    await new StoredResponses(db).put(id, "pages", { conversation: WIDE, response: {} });
    const capped = new StoredResponses(watched, { maxBytesPerResponse: 1_000 });
    expect(textsOf(await pageOf(capped, id, { limit: 1 }))).toEqual(["last question"]);
    await db.run("UPDATE stored_responses SET message_index = NULL WHERE id = $1", [id]);
    const err = ConnectError.from(await failure(capped.listing(id, "pages")));
    expect({ code: err.code, reason: reasonOf(err) }).toEqual({ code: Code.InvalidArgument, reason: "RESPONSE_TOO_LARGE" });
    expect(await capped.listing(id, "another key")).toBeUndefined();
  });
});

describe("a message stored with a lone surrogate (before they were refused)", () => {
  it("is read with U+FFFD in its place, where proto JSON alone refuses it", () => {
    const [json] = stored([user("cut \ud83d"), user("whole 😀")]);
    expect(decodeMessage(json!)).toMatchObject({ role: Role.USER, content: "cut \ufffd" });
    const [whole] = stored([user("whole 😀")]);
    expect(decodeMessage(whole!).content).toBe("whole 😀");
  });
});
