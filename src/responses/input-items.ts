// `GET /v1/responses/{id}/input_items`: the items a stored response was
// answered from (the conversation it continued and its input, without the
// instructions, which are not kept), in OpenAI's list shape, a page at a time
// (https://platform.openai.com/docs/api-reference/responses/input-items).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { badRequest } from "../common/bad-request.js";
import { excerpt } from "../common/excerpt.js";
import { ItemIds, outputItemCount, outputItems } from "../providers/openai-responses/response-object.js";
import { decodeMessage } from "./stored-responses.js";

/** OpenAI's page size bounds and default for input items. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** A page asked for: the items after one id and/or before another, in `order` (newest first unless "asc"). */
export interface InputItemsQuery {
  after?: string;
  before?: string;
  limit: number;
  order: "asc" | "desc";
}

/** The query of a list call; a parameter out of its bounds is InvalidArgument naming it. `include` is taken and changes nothing: items come whole. */
export function readInputItemsQuery(query: URLSearchParams): InputItemsQuery {
  const rawLimit = query.get("limit");
  const limit = rawLimit === null ? DEFAULT_LIMIT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest({ field: "limit", description: `must be a whole number from 1 to ${MAX_LIMIT}, not "${excerpt(rawLimit ?? "")}"` });
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw badRequest({ field: "order", description: `must be "asc" or "desc", not "${excerpt(order)}"` });
  return { after: query.get("after") ?? undefined, before: query.get("before") ?? undefined, limit, order };
}

/**
 * A stored conversation as input items are listed from it: how many items
 * each message makes, read from its stored form, and a message decoded only
 * when its items are on the page.
 */
export interface ListedConversation {
  readonly length: number;
  itemsIn(index: number): number;
  message(index: number): Message;
}

/** The messages of a stored conversation (proto JSON, as stored), listed without decoding them. */
export function listedConversation(messages: readonly JsonValue[]): ListedConversation {
  return { length: messages.length, itemsIn: (index) => itemCountOf(messages[index]), message: (index) => decodeMessage(messages[index]!) };
}

/**
 * One page of a response's input items: `object` "list", `data`, `first_id`,
 * `last_id` (null for an empty page) and `has_more`. Each item has an id of
 * its own, the same at every call (by its place in the conversation), which
 * `after` and `before` name; an id the list does not hold is InvalidArgument.
 * Only the messages whose items are on the page (or named by `after` and
 * `before`) are decoded and made items: a conversation of a million
 * reasoning blocks costs a count per message, and a page.
 */
export function inputItemsPage(responseId: string, conversation: ListedConversation, query: InputItemsQuery): JsonObject {
  const items = new ItemsByPlace(responseId, conversation);
  const total = items.total;
  // Places in the order asked for; `at(place)` is the item's place in the conversation, oldest first.
  const at = (place: number): number => (query.order === "asc" ? place : total - 1 - place);
  const placeOf = (id: string, field: string): number => {
    const index = items.indexOf(id);
    if (index === undefined) throw badRequest({ field, description: `response "${excerpt(responseId)}" has no input item "${excerpt(id)}"` });
    return at(index);
  };
  const start = query.after === undefined ? 0 : placeOf(query.after, "after") + 1;
  const end = Math.max(start, query.before === undefined ? total : placeOf(query.before, "before"));
  const data: JsonObject[] = [];
  for (let place = start; place < Math.min(end, start + query.limit); place++) data.push(items.item(at(place)));
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: end - start > data.length };
}

/**
 * The conversation's items by their place (oldest first), counted from
 * each message's shape and made only when asked for, a message at a time.
 */
class ItemsByPlace {
  /** The place of each message's first item, and (last) the number of items. */
  private readonly firsts: number[] = [0];
  private readonly made = new Map<number, JsonObject[]>();

  constructor(
    private readonly responseId: string,
    private readonly conversation: ListedConversation,
  ) {
    for (let i = 0; i < conversation.length; i++) this.firsts.push(this.firsts[i]! + conversation.itemsIn(i));
  }

  get total(): number {
    return this.firsts.at(-1)!;
  }

  item(place: number): JsonObject {
    const index = this.messageAt(place);
    let items = this.made.get(index);
    if (!items) {
      items = inputItemsOf(this.conversation.message(index), new ItemIds(`${this.responseId}${INPUT_MARK}`, this.firsts[index]));
      this.made.set(index, items);
    }
    return items[place - this.firsts[index]!]!;
  }

  /** The place of the item with this id (its number says where it is: that item's own id must match it whole), or undefined. */
  indexOf(id: string): number | undefined {
    const mark = id.lastIndexOf(INPUT_MARK);
    const number = mark === -1 ? "" : id.slice(mark + INPUT_MARK.length);
    if (!/^\d{2,9}$/.test(number)) return undefined;
    const place = Number(number);
    if (place >= this.total || String(place).padStart(2, "0") !== number) return undefined;
    return this.item(place).id === id ? place : undefined;
  }

  /** The message holding the item at `place`: the last whose first item is at or before it. */
  private messageAt(place: number): number {
    let low = 0;
    let high = this.conversation.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.firsts[mid]! <= place) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}

/** A message as Responses input items: an assistant turn as its reasoning, message and function calls (as its Response gave them), any other as one item. */
function inputItemsOf(message: Message, ids: ItemIds): JsonObject[] {
  if (message.role === Role.ASSISTANT) return outputItems(message, ids);
  if (message.role === Role.TOOL) {
    const output = message.parts.length > 0 ? inputContent(message) : message.content;
    return [{ id: ids.id("fco"), type: "function_call_output", call_id: message.toolCallId, output, status: "completed" }];
  }
  return [{ id: ids.id("msg"), type: "message", role: message.role === Role.SYSTEM ? "system" : "user", content: inputContent(message), status: "completed" }];
}

/** How many items `inputItemsOf` makes of a stored message (proto JSON), without decoding it. */
function itemCountOf(stored: JsonValue | undefined): number {
  if (typeof stored !== "object" || stored === null || Array.isArray(stored) || stored.role !== ASSISTANT_JSON) return 1;
  const length = (value: JsonValue | undefined) => (Array.isArray(value) ? value.length : 0);
  const said = (value: JsonValue | undefined) => typeof value === "string" && value !== "";
  return outputItemCount({
    reasoningBlocks: length(stored.reasoning),
    reasoningContent: said(stored.reasoningContent),
    content: said(stored.content),
    refusal: said(stored.refusal),
    toolCalls: length(stored.toolCalls),
  });
}

/** What tells input items' ids ("msg_<response>_in03") from the response's output items' ("msg_<response>03"); the item's number follows it. */
const INPUT_MARK = "_in";

/** An assistant message's role as proto JSON writes it. */
const ASSISTANT_JSON = "ROLE_ASSISTANT";

/** A message's content as input parts: its text, or its text and image parts. */
function inputContent(message: Message): JsonObject[] {
  if (message.parts.length === 0) return [{ type: "input_text", text: message.content }];
  return message.parts.map(({ part }): JsonObject =>
    part.case === "imageUrl" ? { type: "input_image", image_url: part.value.url, detail: part.value.detail || "auto" } : { type: "input_text", text: part.value ?? "" },
  );
}
