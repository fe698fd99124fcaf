// A user turn with nothing in it. OpenAI's API takes `{"role": "user",
// "content": ""}`; Claude refuses it ("messages.0: all messages must have
// non-empty content except for the optional final assistant message", and an
// empty text block: "text content blocks must be non-empty"), Gemini refuses
// a content without parts ("contents.parts must not be empty"), ERNIE v1 an
// empty message (336003). The codecs merge consecutive turns of one side, so
// an empty message beside another of its turn reaches the vendor as part of
// that turn and is no matter; one that would be a turn of its own is refused
// here, naming the caller's field, before any vendor is asked. It is not
// dropped: the turn before it would then be the last (an assistant's answer
// that Claude continues rather than replies to), and not given words the
// caller did not write (LiteLLM's `modify_params` placeholder), which the
// model would answer.
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { contentField } from "./caller-fields.js";
import type { ChatParams } from "./provider.js";

/**
 * The dialects that refuse a user turn with no content, and whether their
 * user turn also carries the tool results (Anthropic's tool_result blocks,
 * Gemini's functionResponse parts) or has them apart (ERNIE's `function` role).
 */
const REFUSE_EMPTY_USER_TURNS: Readonly<Record<string, { toolResultsInUserTurn: boolean }>> = {
  anthropic: { toolResultsInUserTurn: true },
  gemini: { toolResultsInUserTurn: true },
  "qianfan-v1": { toolResultsInUserTurn: false },
};

/**
 * The caller's field of the first user message that would be an empty turn
 * of its own at a vendor of `dialect` serving `model`, and why; undefined
 * when there is none or the dialect takes it. System messages go apart, and
 * an assistant message that says and calls nothing is left out by the codecs
 * (its neighbours merged): neither ends a turn.
 */
export function emptyUserTurnRefusal(params: Pick<ChatParams, "messages" | "insertedMessages" | "fieldNames">, dialect: string | undefined, model: string): { field: string; reason: string } | undefined {
  const rules = dialect === undefined ? undefined : REFUSE_EMPTY_USER_TURNS[dialect];
  if (!rules) return undefined;
  /** The turn being read: its first message, and whether anything in it says something. */
  let turn: { first: number; said: boolean } | undefined;
  for (const [i, message] of params.messages.entries()) {
    const userSide = message.role === Role.USER || (message.role === Role.TOOL && rules.toolResultsInUserTurn);
    if (userSide) {
      turn ??= { first: i, said: false };
      turn.said ||= !isEmptyUserMessage(message);
      continue;
    }
    if (message.role === Role.SYSTEM || (message.role === Role.ASSISTANT && saysNothing(message))) continue;
    if (turn && !turn.said) break;
    turn = undefined;
  }
  if (!turn || turn.said) return undefined;
  return {
    field: contentField(params, turn.first),
    reason: `${model}'s API refuses a user turn with no content (OpenAI's takes one); give the message text or an image, or leave it out`,
  };
}

/** A user message with no text and no image (content "", [] or empty text parts); a tool result always says something. */
function isEmptyUserMessage(message: Message): boolean {
  if (message.role !== Role.USER) return false;
  return message.content === "" && message.parts.every((part) => part.part.case === "text" && part.part.value === "");
}

/** An assistant message the codecs leave out: no text, no refusal, no tool call. */
function saysNothing(message: Message): boolean {
  return message.content === "" && message.refusal === "" && message.toolCalls.length === 0 && message.parts.length === 0;
}
