// The conversation rules ERNIE v1 enforces: the system prompt out of band,
// user first, user (or function result) and assistant strictly alternating,
// one function call per assistant turn, and a user turn or function result last.
import { Role, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { messageText } from "../message-text.js";
import { UpstreamError } from "../upstream-error.js";

export interface WireMessage {
  role: "user" | "assistant" | "function";
  content: string;
  name?: string;
  function_call?: { name: string; arguments: string };
}

/** A wire message and the index of the first request message it came from, for error messages. */
interface Placed {
  message: WireMessage;
  from: number;
}

function invalid(provider: string, message: string): UpstreamError {
  return new UpstreamError({ kind: "bad_request", provider, message: `provider "${provider}" (ERNIE v1): ${message}` });
}

/**
 * Moves system messages to `system`, maps roles, leaves out assistant turns
 * that say nothing, merges consecutive turns of the same role, and checks
 * what ERNIE demands: user first, alternating, an odd count (so the last
 * turn is the user's or a function result).
 * Throws bad_request, saying why, for a conversation that cannot be made valid,
 * naming the caller's messages: `inserted` messages in front are the gateway's
 * (ChatParams.insertedMessages), not counted.
 */
export function toErnieConversation(messages: Message[], provider: string, inserted = 0): { system: string; messages: WireMessage[] } {
  const at = (index: number): string => `messages[${index - inserted}]`;
  const system: string[] = [];
  const placed: Placed[] = [];
  /** Assistant messages left out for saying nothing, for the error that the alternation then breaks. */
  const silent: number[] = [];
  const append = (message: WireMessage, from: number): void => {
    const last = placed.at(-1)?.message;
    if (!last || last.role !== message.role) {
      placed.push({ message, from });
      return;
    }
    if (message.role === "function") {
      throw invalid(provider, `${at(from)} is a second tool result in a row; ERNIE takes one function call, and so one result, per turn`);
    }
    if (last.function_call && message.function_call) {
      throw invalid(provider, `${at(from)} is a second tool call in a row; ERNIE takes one function call per assistant turn`);
    }
    last.content = [last.content, message.content].filter((text) => text !== "").join("\n\n");
    if (message.function_call) last.function_call = message.function_call;
  };

  messages.forEach((message, i) => {
    const text = messageText(message, provider);
    switch (message.role) {
      case Role.SYSTEM:
        system.push(text);
        return;
      case Role.ASSISTANT: {
        if (message.toolCalls.length > 1) {
          throw invalid(provider, `${at(i)} makes ${message.toolCalls.length} tool calls; ERNIE takes one function call per assistant turn`);
        }
        const call = message.toolCalls[0];
        // OpenAI's refusal (content null) is what the model said: ERNIE, with no field for it, gets it as the text.
        const said = text || message.refusal;
        // ERNIE refuses an empty message (336003): a turn that says nothing and calls nothing is left out, its neighbours merged.
        if (said === "" && !call) {
          silent.push(i);
          return;
        }
        append({ role: "assistant", content: said, ...(call ? { function_call: { name: call.name, arguments: call.arguments || "{}" } } : {}) }, i);
        return;
      }
      case Role.TOOL:
        append({ role: "function", name: toolName(messages, i, provider, at), content: JSON.stringify({ result: text }) }, i);
        return;
      default:
        append({ role: "user", content: text }, i);
    }
  });

  if (placed.length === 0) throw invalid(provider, "the conversation needs a user message (system messages go to the separate system prompt)");
  const first = placed[0]!;
  if (first.message.role !== "user") {
    throw invalid(provider, `the conversation must start with a user message, but ${at(first.from)} is ${describeRole(first.message.role)}`);
  }
  // Merging leaves one way to break the alternation: a user message and a tool result side by side.
  placed.forEach(({ message, from }, position) => {
    if (position % 2 === 1 && message.role !== "assistant") {
      const previous = placed[position - 1]!;
      const between = silent.find((index) => index > previous.from && index < from);
      const leftOut = between === undefined ? "" : ` (${at(between)} says nothing and calls no tool, and ERNIE refuses an empty message)`;
      throw invalid(provider, `${at(from)} is ${describeRole(message.role)} right after ${describeRole(previous.message.role)}; ERNIE needs an assistant turn in between${leftOut}`);
    }
  });
  const last = placed.at(-1)!;
  if (last.message.role === "assistant") {
    throw invalid(provider, `the conversation must end with a user or tool message for the model to answer, but ${at(last.from)} is an assistant message`);
  }
  return { system: system.join("\n\n"), messages: placed.map(({ message }) => message) };
}

function describeRole(role: WireMessage["role"]): string {
  return role === "function" ? "a tool result" : role === "user" ? "a user message" : "an assistant message";
}

/** v1 names a function result by the function, not by a call id: find the call it answers. */
function toolName(messages: Message[], index: number, provider: string, at: (index: number) => string): string {
  const message = messages[index]!;
  for (let i = index - 1; i >= 0; i--) {
    const call = messages[i]!.toolCalls.find((candidate) => candidate.id === message.toolCallId);
    if (call) return call.name;
  }
  if (message.name) return message.name;
  throw invalid(provider, `${at(index)}.tool_call_id "${message.toolCallId}" answers no earlier tool call, and the message has no name`);
}
