// The `thread` field of a `/v1/messages` body (Anthropic's message threads,
// beta `message-threads-2026-08-12`), served by the gateway itself for every
// vendor (threads/message-threads.ts): no vendor ever sees the field, and on
// a `continue` the vendor gets the whole conversation, so the prepended
// history is prompt like any other (estimates, budgets, the ledger).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { badRequest } from "../../common/bad-request.js";
import type { Continuation, MessageThreads, ThreadHistory } from "../../threads/message-threads.js";

/** The beta the Anthropic SDKs ask for with `thread`: the gateway serves it, so no vendor is told of it. */
export const MESSAGE_THREADS_BETA = "message-threads-2026-08-12";

/** One `/v1/messages` call as its thread makes it: the body the vendor gets (whole conversation, no `thread`), and what to keep once it is answered. */
export interface ThreadTurn {
  body: JsonObject;
  /** Keeps the conversation the answer ends under the answer's id (when the turn is threaded), and settles the thread it continued. */
  answered(id: string, reply: { role: "assistant"; content: JsonValue }): void;
  /** The call failed (or its answer was cut short): the thread it continued may be continued again. Nothing once answered. */
  failed(): void;
}

/** The `anthropic-beta` header without the threads beta; undefined when nothing is left. */
export function withoutThreadsBeta(betas: string | undefined): string | undefined {
  if (betas === undefined) return undefined;
  const left = betas.split(",").map((beta) => beta.trim()).filter((beta) => beta !== "" && beta !== MESSAGE_THREADS_BETA);
  return left.length > 0 ? left.join(",") : undefined;
}

/**
 * Reads the body's `thread` and resolves it: `create` keeps the turn, and
 * `continue` prepends what the thread holds (its system prompt and tools,
 * which the request must leave out, as Anthropic's API requires). A body
 * without one is sent as it is, and keeps nothing.
 */
export function threadTurn(raw: unknown, keyId: string, threads: MessageThreads): ThreadTurn {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || !Object.hasOwn(raw, "thread")) return unthreaded(raw as JsonObject);
  const { thread, ...body } = raw as JsonObject;
  if (thread === null) return unthreaded(body);
  if (typeof thread !== "object" || Array.isArray(thread)) throw badRequest({ field: "thread", description: 'must be an object: {"type": "create"} or {"type": "continue", "previous_message_id": "msg_…"}' });
  if (thread.type === "create") return keeping(body, keyId, threads, undefined);
  if (thread.type !== "continue") throw badRequest({ field: "thread.type", description: 'must be "create" or "continue"' });
  const previous = thread.previous_message_id;
  if (typeof previous !== "string" || previous === "") throw badRequest({ field: "thread.previous_message_id", description: "is required to continue a thread: the id of the thread's latest message" });
  for (const field of ["system", "tools"] as const) {
    if (body[field] !== undefined) throw badRequest({ field, description: "is kept by the thread from its create request: leave it out when continuing, or start a new thread to change it" });
  }
  if (!Array.isArray(body.messages)) return unthreaded(body); // The request reader names the field.
  const continuation = threads.continueFrom(previous, keyId);
  const { history } = continuation;
  const whole: JsonObject = { ...body, messages: [...history.messages, ...body.messages] };
  if (history.system !== undefined) whole.system = history.system;
  if (history.tools !== undefined) whole.tools = history.tools;
  return keeping(whole, keyId, threads, continuation);
}

function unthreaded(body: JsonObject): ThreadTurn {
  return { body, answered: () => undefined, failed: () => undefined };
}

function keeping(body: JsonObject, keyId: string, threads: MessageThreads, continuation: Continuation | undefined): ThreadTurn {
  return {
    body,
    answered(id, reply) {
      const history: ThreadHistory = { messages: [...((body.messages as JsonValue[] | undefined) ?? []), reply] };
      if (body.system !== undefined) history.system = body.system;
      if (body.tools !== undefined) history.tools = body.tools;
      threads.keep(id, keyId, history);
      continuation?.continued();
    },
    failed: () => continuation?.released(),
  };
}
