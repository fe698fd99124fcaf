// `GET /v1/responses/{id}/input_items`: the items a stored response was
// answered from (the conversation it continued and its input, without the
// instructions, which are not kept), in OpenAI's list shape, a page at a time
// (https://platform.openai.com/docs/api-reference/responses/input-items).
import type { JsonObject } from "@bufbuild/protobuf";
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { badRequest } from "../common/bad-request.js";
import { excerpt } from "../common/excerpt.js";
import { ItemIds, outputItems } from "../providers/openai-responses/response-object.js";

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
 */
export function inputItemsPage(responseId: string, conversation: readonly Message[], query: InputItemsQuery): JsonObject {
  const items = inputItemsOf(responseId, conversation);
  const ordered = query.order === "asc" ? items : items.reverse();
  const start = query.after === undefined ? 0 : indexOfItem(ordered, query.after, "after", responseId) + 1;
  const end = query.before === undefined ? ordered.length : indexOfItem(ordered, query.before, "before", responseId);
  const range = ordered.slice(start, Math.max(start, end));
  const data = range.slice(0, query.limit);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: range.length > data.length };
}

/** The conversation as Responses items, oldest first: messages, and an assistant turn as its reasoning, message and function calls (as its Response gave them). */
function inputItemsOf(responseId: string, conversation: readonly Message[]): JsonObject[] {
  // Ids of their own ("msg_<response>_in00"), apart from those of the response's output items.
  const ids = new ItemIds(`${responseId}_in`);
  const items: JsonObject[] = [];
  for (const message of conversation) {
    if (message.role === Role.ASSISTANT) items.push(...outputItems(message, ids));
    else if (message.role === Role.TOOL) {
      const output = message.parts.length > 0 ? inputContent(message) : message.content;
      items.push({ id: ids.id("fco"), type: "function_call_output", call_id: message.toolCallId, output, status: "completed" });
    } else items.push({ id: ids.id("msg"), type: "message", role: message.role === Role.SYSTEM ? "system" : "user", content: inputContent(message), status: "completed" });
  }
  return items;
}

/** A message's content as input parts: its text, or its text and image parts. */
function inputContent(message: Message): JsonObject[] {
  if (message.parts.length === 0) return [{ type: "input_text", text: message.content }];
  return message.parts.map(({ part }): JsonObject =>
    part.case === "imageUrl" ? { type: "input_image", image_url: part.value.url, detail: part.value.detail || "auto" } : { type: "input_text", text: part.value ?? "" },
  );
}

function indexOfItem(items: readonly JsonObject[], id: string, field: string, responseId: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index === -1) throw badRequest({ field, description: `response "${excerpt(responseId)}" has no input item "${excerpt(id)}"` });
  return index;
}
