// Where a model takes system messages. OpenAI's and Claude's (Opus 4.8 on)
// take one anywhere in the conversation; many open models' chat templates
// take one only first (Qwen's raise "System message must be at the
// beginning": QwenLM/Qwen#956), and a caller such as Claude Code adds one
// after a user turn. For a model whose facts say it takes none there
// (`midConversationSystem: false`), every system message moves to the front,
// in order, ahead of the conversation: the instruction still reaches the
// model as a system instruction.
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "../providers/provider.js";
import type { Adjustments } from "./adjustments.js";

export function fitSystemPlacement(params: ChatParams, takesMidConversation: boolean | undefined, adjustments: Adjustments, model: string): void {
  if (takesMidConversation !== false) return;
  const firstTurn = params.messages.findIndex((m) => m.role !== Role.SYSTEM);
  if (firstTurn === -1) return;
  const later = params.messages.filter((m, i) => i > firstTurn && m.role === Role.SYSTEM).length;
  if (later === 0) return;
  const system = params.messages.filter((m) => m.role === Role.SYSTEM);
  params.messages = [...system, ...params.messages.filter((m) => m.role !== Role.SYSTEM)];
  adjustments.add("messages", AdjustmentKind.CONVERTED, `${later} system messages mid-conversation`, "at the start", `${model} takes system messages only at the start`);
}
