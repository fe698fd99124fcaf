// `GET /v1/responses/{id}/input_items`: the items a stored response was
// answered from (the conversation it continued and its input, without the
// instructions, which are not kept), in OpenAI's list shape, a page at a time
// (https://platform.openai.com/docs/api-reference/responses/input-items).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { badRequest } from "../common/bad-request.js";
import { excerpt } from "../common/excerpt.js";
import { ItemIds, outputItems } from "../providers/openai-responses/response-object.js";
import type { StoredListing } from "./conversation-index.js";
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
 * One page of a response's input items: `object` "list", `data`, `first_id`,
 * `last_id` (null for an empty page) and `has_more`. Each item has an id of
 * its own, the same at every call (by its place in the conversation), which
 * `after` and `before` name; an id the list does not hold is InvalidArgument.
 * The page is found from each message's item count alone; then only the
 * messages whose items are on it (or named by `after` and `before`) are read
 * and decoded: a conversation of a million reasoning blocks costs a count per
 * message, and a page. Undefined when the response is no longer stored.
 */
export async function inputItemsPage(responseId: string, conversation: StoredListing, query: InputItemsQuery): Promise<JsonObject | undefined> {
  const places = new ItemPlaces(responseId, conversation.itemCounts);
  const total = places.total;
  // Places in the order asked for; `at(place)` is the item's place in the conversation, oldest first.
  const at = (place: number): number => (query.order === "asc" ? place : total - 1 - place);
  const after = query.after === undefined ? undefined : places.named(query.after, "after");
  const before = query.before === undefined ? undefined : places.named(query.before, "before");
  const start = after === undefined ? 0 : at(after) + 1;
  const end = Math.max(start, before === undefined ? total : at(before));
  const onPage: number[] = [];
  for (let place = start; place < Math.min(end, start + query.limit); place++) onPage.push(at(place));
  const needed = [...(after === undefined ? [] : [after]), ...(before === undefined ? [] : [before]), ...onPage];
  const stored = await conversation.messages([...new Set(needed.map((place) => places.messageAt(place)))]);
  if (!stored) return undefined;
  const items = new ItemsByPlace(places, stored);
  // A cursor was found by its number: it is the item's only if its whole id is.
  if (after !== undefined) items.check(query.after!, after, "after");
  if (before !== undefined) items.check(query.before!, before, "before");
  const data = onPage.map((place) => items.item(place));
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: end - start > data.length };
}

/** Where each item of a conversation is (oldest first), from each message's item count. */
class ItemPlaces {
  /** The place of each message's first item, and (last) the number of items. */
  readonly firsts: number[] = [0];

  constructor(
    readonly responseId: string,
    itemCounts: readonly number[],
  ) {
    for (const count of itemCounts) this.firsts.push(this.firsts.at(-1)! + count);
  }

  get total(): number {
    return this.firsts.at(-1)!;
  }

  /** The place an item id's number says (`ItemsByPlace.check` holds it to the whole id); one that names no place here is InvalidArgument. */
  named(id: string, field: string): number {
    const mark = id.lastIndexOf(INPUT_MARK);
    const number = mark === -1 ? "" : id.slice(mark + INPUT_MARK.length);
    const place = /^\d{2,9}$/.test(number) ? Number(number) : -1;
    if (place < 0 || place >= this.total || String(place).padStart(2, "0") !== number) throw noItem(this.responseId, id, field);
    return place;
  }

  /** The message holding the item at `place`: the last whose first item is at or before it. */
  messageAt(place: number): number {
    let low = 0;
    let high = this.firsts.length - 2;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.firsts[mid]! <= place) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}

/** The items of the messages read, made a message at a time, when asked for. */
class ItemsByPlace {
  private readonly made = new Map<number, JsonObject[]>();

  constructor(
    private readonly places: ItemPlaces,
    private readonly stored: ReadonlyMap<number, JsonValue>,
  ) {}

  item(place: number): JsonObject {
    const index = this.places.messageAt(place);
    let items = this.made.get(index);
    if (!items) {
      items = inputItemsOf(decodeMessage(this.stored.get(index)!), new ItemIds(`${this.places.responseId}${INPUT_MARK}`, this.places.firsts[index]));
      this.made.set(index, items);
    }
    return items[place - this.places.firsts[index]!]!;
  }

  /** InvalidArgument unless `id` is the whole id of the item at `place`. */
  check(id: string, place: number, field: string): void {
    if (this.item(place).id !== id) throw noItem(this.places.responseId, id, field);
  }
}

function noItem(responseId: string, id: string, field: string): ConnectError {
  return badRequest({ field, description: `response "${excerpt(responseId)}" has no input item "${excerpt(id)}"` });
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

/** What tells input items' ids ("msg_<response>_in03") from the response's output items' ("msg_<response>03"); the item's number follows it. */
const INPUT_MARK = "_in";

/** A message's content as input parts: its text, or its text and image parts. */
function inputContent(message: Message): JsonObject[] {
  if (message.parts.length === 0) return [{ type: "input_text", text: message.content }];
  return message.parts.map(({ part }): JsonObject =>
    part.case === "imageUrl" ? { type: "input_image", image_url: part.value.url, detail: part.value.detail || "auto" } : { type: "input_text", text: part.value ?? "" },
  );
}
