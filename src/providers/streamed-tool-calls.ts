import { create } from "@bufbuild/protobuf";
import { ToolCallSchema, type ToolCall, type ToolCallDelta } from "../../gen/ts/switchboard/v1/chat_pb.js";

/**
 * The tool calls a stream's fragments build, by their index: the first id
 * and name a call is given, its arguments joined. Listed in index order, a
 * call the vendor gave no id named `call_<index>`.
 */
export class StreamedToolCalls {
  private readonly calls = new Map<number, ToolCall>();

  /** Adds one fragment; returns the characters it brought (its id, name and arguments), for the bound on what an answer keeps. */
  add(fragment: ToolCallDelta): number {
    const call = this.calls.get(fragment.index) ?? create(ToolCallSchema, {});
    call.id ||= fragment.id;
    call.name ||= fragment.name;
    call.arguments += fragment.argumentsFragment;
    this.calls.set(fragment.index, call);
    return fragment.id.length + fragment.name.length + fragment.argumentsFragment.length;
  }

  list(): ToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => ((call.id ||= `call_${index}`), call));
  }
}
