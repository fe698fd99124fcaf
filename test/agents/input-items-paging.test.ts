// A page of a stored response's input items costs a count per message and the
// messages on the page, not the whole conversation decoded and made items
// (/tmp/audit-agents.md, finding 1: one `limit=1` listing of a million
// reasoning blocks held the event loop for 15 s). And a conversation stored
// before lone surrogates were refused still reads (finding 3).
import { create, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MessageSchema, Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { inputItemsPage, listedConversation, type InputItemsQuery, type ListedConversation } from "../../src/responses/input-items.js";
import { decodeMessage, encodeConversation } from "../../src/responses/stored-responses.js";
import { failure } from "../support/failure.js";

const ID = "resp_0123456789abcdef0123456789abcdef";

const user = (content: string) => create(MessageSchema, { role: Role.USER, content });
const stored = (messages: Message[]) => JSON.parse(encodeConversation(messages)) as JsonValue[];

/** The conversation as listed, counting the messages decoded. */
function counted(messages: Message[]): { conversation: ListedConversation; decoded: number[] } {
  const listed = listedConversation(stored(messages));
  const decoded: number[] = [];
  return {
    decoded,
    conversation: {
      length: listed.length,
      itemsIn: (index) => listed.itemsIn(index),
      message: (index) => {
        decoded.push(index);
        return listed.message(index);
      },
    },
  };
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

    const newest = inputItemsPage(ID, conversation, query({ limit: 3 }));
    expect((newest.data as { content: { text: string }[] }[]).map((item) => item.content[0]!.text)).toEqual(["m4999", "m4998", "m4997"]);
    expect(newest.has_more).toBe(true);
    expect(decoded).toEqual([5_001, 5_000, 4_999]);

    decoded.length = 0;
    const oldest = inputItemsPage(ID, conversation, query({ limit: 2, order: "asc" }));
    expect((oldest.data as { type: string }[]).map((item) => item.type)).toEqual(["message", "reasoning"]);
    expect(decoded).toEqual([0, 1]);

    // A cursor is found by its number, its one message decoded to check it.
    decoded.length = 0;
    const after = inputItemsPage(ID, conversation, query({ limit: 2, after: String(newest.last_id) }));
    expect((after.data as { content: { text: string }[] }[]).map((item) => item.content[0]!.text)).toEqual(["m4996", "m4995"]);
    expect(decoded).toEqual([4_999, 4_998, 4_997]);
  });

  it("is the same slice of the whole list, whichever order and cursor", () => {
    const { conversation } = counted(MIXED);
    const all = inputItemsPage(ID, conversation, query({ limit: 100, order: "asc" })).data as { id: string; type: string }[];
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
        const page = inputItemsPage(ID, conversation, query({ order, limit: 3, after: listed[i] }));
        expect((page.data as { id: string }[]).map((item) => item.id)).toEqual(listed.slice(i + 1, i + 4));
        expect(page.has_more).toBe(listed.length > i + 4);
        const before = inputItemsPage(ID, conversation, query({ order, limit: 100, before: listed[i] }));
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
    const first = String(inputItemsPage(ID, conversation, query({ order: "asc", limit: 1 })).first_id);
    const err = await failure(Promise.resolve().then(() => inputItemsPage(ID, conversation, query({ after: spoilId(first) }))));
    expect(err.message).toContain("after: response");
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
