// Where a model takes system messages: the one place that decides whether a
// system message after the conversation's start stays there or moves to the
// front, and reports the move. OpenAI's and Claude's (Opus 4.8 on) take one
// anywhere in the conversation; many open models' chat templates take one
// only first (Qwen's raise "System message must be at the beginning":
// QwenLM/Qwen#956), and a caller such as Claude Code adds one after a user
// turn. For a model whose facts say it takes none there
// (`midConversationSystem: false`), every system message moves to the front,
// in order, ahead of the conversation: the instruction still reaches the
// model as a system instruction. Over Anthropic's Messages API a model takes
// one only if its facts say so (the API refuses the role to the others, so a
// model nothing is known of is taken to take none, as before), and only where
// the API takes one (anthropic/system-messages.ts); the rest move the same way.
// The codec then sends the leading ones as the top-level system prompt: the
// same wire as joining each to that prompt. Gemini's and ERNIE v1's codecs send
// every system message as their one top-level prompt wherever it stands: for
// them the move is only reported, the messages left where the caller put
// them, so that an error naming messages[i] (ERNIE v1's) names the caller's.
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { takesSystemMessageAt } from "../providers/anthropic/system-messages.js";
import type { ChatParams } from "../providers/provider.js";
import type { Adjustments } from "./adjustments.js";

/** The dialects whose codec sends every system message, wherever it stands, as the request's one system prompt (systemInstruction, ERNIE v1's `system`). */
const LIFTS_EVERY_SYSTEM_MESSAGE = new Set(["gemini", "qianfan-v1"]);

/** Whether the system message at `i` (after the first turn) may stay where it is, and why not when it may not. */
type Placement = { mayStay: (messages: readonly Message[], i: number) => boolean; reason: string };

export function fitSystemPlacement(params: ChatParams, takesMidConversation: boolean | undefined, dialect: string | undefined, adjustments: Adjustments, model: string): void {
  const placement = placementFor(takesMidConversation, dialect, model);
  if (!placement) return;
  const messages = params.messages;
  const firstTurn = messages.findIndex((m) => m.role !== Role.SYSTEM);
  if (firstTurn === -1) return;
  const moves = messages.map((m, i) => m.role === Role.SYSTEM && i > firstTurn && !placement.mayStay(messages, i));
  const moved = moves.filter(Boolean).length;
  if (moved === 0) return;
  if (dialect === undefined || !LIFTS_EVERY_SYSTEM_MESSAGE.has(dialect)) {
    const front = (m: Message, i: number) => i < firstTurn || moves[i]!;
    params.messages = [...messages.filter(front), ...messages.filter((m, i) => !front(m, i))];
  }
  adjustments.add("messages", AdjustmentKind.CONVERTED, `${moved} system messages mid-conversation`, "at the start", placement.reason);
}

/** What decides for this model over this dialect; undefined when every system message stays where it is. */
function placementFor(takesMidConversation: boolean | undefined, dialect: string | undefined, model: string): Placement | undefined {
  if (takesMidConversation === false) return { mayStay: () => false, reason: `${model} takes system messages only at the start` };
  if (dialect !== "anthropic") return undefined;
  if (takesMidConversation === undefined) return { mayStay: () => false, reason: `${model} is not known to take system messages mid-conversation` };
  return { mayStay: takesSystemMessageAt, reason: "the Anthropic Messages API takes one mid-conversation only right after a user turn, before an assistant turn or last" };
}
