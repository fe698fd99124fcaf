// A stored conversation's index (the `message_index` column, migration 12):
// for each message, the input items it makes and the characters its proto
// JSON takes in the stored text. With it a page of input items is read from
// the store a message at a time (SQL SUBSTR), whatever the conversation holds
// besides: neither the rest of the text nor its parse ever reaches the process.
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { outputItemCount } from "../providers/openai-responses/response-object.js";

/**
 * A stored conversation as input items are listed from it: how many items
 * each message makes (oldest first), and the messages asked for, as stored
 * (proto JSON, not decoded); undefined when the response is no longer stored.
 */
export interface StoredListing {
  readonly itemCounts: readonly number[];
  messages(indices: readonly number[]): Promise<Map<number, JsonValue> | undefined>;
}

/** Consecutive messages read as one SUBSTR of the stored text: its first message, how many, and the characters (1-based) they span. */
export interface MessageRun {
  first: number;
  count: number;
  start: number;
  length: number;
}

/** A conversation as stored (`encodeConversation`'s text) with its index. */
export function encodeIndexed(messages: readonly Message[]): { conversation: string; index: string } {
  const stored = messages.map((message) => toJson(MessageSchema, message));
  const texts = stored.map((json) => JSON.stringify(json));
  return { conversation: `[${texts.join(",")}]`, index: JSON.stringify(stored.flatMap((json, i) => [itemCountOf(json), charactersIn(texts[i]!)])) };
}

/** An index as read back: where each message lies in the stored text, and its items. */
export class ConversationIndex {
  /** Where each message starts in the stored text, 1-based as SUBSTR counts (after the opening "[" and a "," between messages). */
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  readonly itemCounts: number[] = [];

  private constructor(pairs: readonly number[]) {
    let start = 2;
    for (let i = 0; i < pairs.length; i += 2) {
      this.itemCounts.push(pairs[i]!);
      this.starts.push(start);
      this.lengths.push(pairs[i + 1]!);
      start += pairs[i + 1]! + 1;
    }
  }

  /** The index stored with a row; undefined for a row stored before there was one, or one not of its shape. */
  static read(stored: unknown): ConversationIndex | undefined {
    if (typeof stored !== "string") return undefined;
    let pairs: unknown;
    try {
      pairs = JSON.parse(stored);
    } catch {
      return undefined;
    }
    if (!Array.isArray(pairs) || pairs.length % 2 !== 0 || !pairs.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return undefined;
    return new ConversationIndex(pairs as number[]);
  }

  /** The messages at `indices`, as runs of consecutive ones (each one SUBSTR), in order. */
  runs(indices: readonly number[]): MessageRun[] {
    const runs: MessageRun[] = [];
    for (const index of [...new Set(indices)].sort((a, b) => a - b)) {
      const last = runs.at(-1);
      if (last && last.first + last.count === index) {
        last.count++;
        last.length = this.starts[index]! + this.lengths[index]! - last.start;
      } else runs.push({ first: index, count: 1, start: this.starts[index]!, length: this.lengths[index]! });
    }
    return runs;
  }
}

/** How many input items a stored message (proto JSON) makes, without decoding it: an assistant turn its output items, any other one. */
export function itemCountOf(stored: JsonValue | undefined): number {
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

/** An assistant message's role as proto JSON writes it. */
const ASSISTANT_JSON = "ROLE_ASSISTANT";

/**
 * A JSON text's length in characters (code points), as SQL's SUBSTR counts
 * them in a UTF-8 database: JSON.stringify escapes lone surrogates, so each
 * high surrogate left begins a pair, one character.
 */
function charactersIn(text: string): number {
  let pairs = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) pairs++;
  }
  return text.length - pairs;
}

/** A conversation already parsed (a row stored before it had an index), listed from memory. */
export function listingOf(messages: readonly JsonValue[]): StoredListing {
  return {
    itemCounts: messages.map(itemCountOf),
    messages: async (indices) => new Map(indices.map((index) => [index, messages[index]!])),
  };
}

/**
 * The messages of a run, from the text SUBSTR gave: undefined when it is not
 * the run's messages as the index counts them (a database that counts
 * characters otherwise, as a Postgres one in SQL_ASCII counts bytes).
 */
export function messagesOfRun(text: unknown, run: MessageRun, index: ConversationIndex): JsonValue[] | undefined {
  if (typeof text !== "string") return undefined;
  let messages: unknown;
  try {
    messages = JSON.parse(`[${text}]`);
  } catch {
    return undefined;
  }
  if (!Array.isArray(messages) || messages.length !== run.count) return undefined;
  const fits = (messages as JsonValue[]).every((message, i) => typeof message === "object" && message !== null && itemCountOf(message) === index.itemCounts[run.first + i]);
  return fits ? (messages as JsonValue[]) : undefined;
}
