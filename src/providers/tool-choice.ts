import { ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "./provider.js";

/** How a dialect says each tool choice. */
export interface ToolChoiceWords<T> {
  auto: T;
  none: T;
  required: T;
  functionName: (name: string) => T;
}

/** The caller's tool choice in a dialect's words; undefined when the caller made none, so the vendor's default applies. */
export function toolChoiceIn<T>(params: Pick<ChatParams, "toolChoice">, words: ToolChoiceWords<T>): T | undefined {
  const choice = params.toolChoice?.choice;
  if (!choice?.case) return undefined;
  if (choice.case === "functionName") return words.functionName(choice.value);
  switch (choice.value) {
    case ToolChoiceMode.AUTO:
      return words.auto;
    case ToolChoiceMode.NONE:
      return words.none;
    case ToolChoiceMode.REQUIRED:
      return words.required;
    default:
      return undefined;
  }
}
