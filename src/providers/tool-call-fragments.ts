import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type ToolCallDelta } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "./codec.js";
import { madeUpCallId } from "./made-up-call-id.js";
import { StreamedToolCallIndexes } from "./streamed-tool-calls.js";
import { vendorObject, vendorString } from "./vendor-fields.js";

/**
 * Reads the tool call fragments of a stream in the OpenAI shape
 * (`{index?, id?, function: {name?, arguments?}}`), as OpenAI-compatible
 * servers and DashScope send them, into the contract's deltas: a call's id
 * and name go out once, on the first fragment that has them
 * (ToolCallDelta, chat.proto), its arguments as they come. Some vendors
 * (DeepSeek, Moonshot, Zhipu, DashScope) repeat the id and name on every
 * fragment; passed on, a client that joins fragments' fields (LangChain's
 * chunk merge) builds the name "ff" and the id "call_Acall_A". A call the
 * vendor gives no id gets one made up on its first fragment, unique across
 * answers (made-up-call-id.ts), so every reader of the stream sees the same.
 */
export class ToolCallFragments {
  private readonly indexes = new StreamedToolCallIndexes();
  /** Per call index, whether its id and its name went out. */
  private readonly idSent = new Set<number>();
  private readonly nameSent = new Set<number>();
  /** What makes this answer's made-up ids its own: drawn when a call first needs one. */
  private answer: string | undefined;

  constructor(private readonly ctx: ErrorContext) {}

  /** The deltas of one chunk's list of fragments, read at `at` (the list's path, for errors); a fragment with nothing new is left out. */
  read(fragments: unknown[], at: string): ToolCallDelta[] {
    const deltas: ToolCallDelta[] = [];
    fragments.forEach((raw, position) => {
      const field = `${at}[${position}]`;
      const fragment = vendorObject(raw, field, this.ctx);
      const fn = vendorObject(fragment.function, `${field}.function`, this.ctx);
      const id = vendorString(fragment.id, `${field}.id`, this.ctx);
      const index = this.indexes.indexOf(fragment.index, id, position, `${field}.index`, this.ctx);
      const name = vendorString(fn.name, `${field}.function.name`, this.ctx);
      const argumentsFragment = vendorString(fn.arguments, `${field}.function.arguments`, this.ctx);
      const callId = once(this.idSent, index, id || madeUpCallId((this.answer ??= randomBytes(8).toString("hex")), index));
      const delta = create(ToolCallDeltaSchema, { index, id: callId, name: once(this.nameSent, index, name), argumentsFragment });
      if (delta.id !== "" || delta.name !== "" || argumentsFragment !== "") deltas.push(delta);
    });
    return deltas;
  }
}

/** `value` the first time a call has one, "" after. */
function once(sent: Set<number>, index: number, value: string): string {
  if (value === "" || sent.has(index)) return "";
  sent.add(index);
  return value;
}
