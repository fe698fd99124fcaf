import { create } from "@bufbuild/protobuf";
import { ToolCallSchema, type ToolCall, type ToolCallDelta } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "./codec.js";
import { madeUpCallId } from "./made-up-call-id.js";
import { vendorIndex } from "./vendor-fields.js";

/**
 * The tool calls a stream's fragments build, by their index: the first id
 * and name a call is given, its arguments joined, listed in index order. A
 * call whose first fragment has no id (Anthropic-shaped and Responses-shaped
 * streams of vendors that give none) gets a made-up one there, unique across
 * answers (made-up-call-id.ts), written into that fragment: the delta the
 * caller reads, the events a REST surface writes from it and the summary
 * (what a stored response is continued from) all name the call alike.
 */
export class StreamedToolCalls {
  private readonly calls = new Map<number, ToolCall>();

  /** Adds one fragment (naming its call, if it is the first and has no id); returns the characters it brought (its id, name and arguments), for the bound on what an answer keeps. */
  add(fragment: ToolCallDelta): number {
    const known = this.calls.get(fragment.index);
    if (!known && fragment.id === "") fragment.id = madeUpCallId("", fragment.index);
    const call = known ?? create(ToolCallSchema, {});
    call.id ||= fragment.id;
    call.name ||= fragment.name;
    call.arguments += fragment.argumentsFragment;
    this.calls.set(fragment.index, call);
    return fragment.id.length + fragment.name.length + fragment.argumentsFragment.length;
  }

  list(): ToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  }
}

/**
 * The index of each tool call fragment a vendor streams, for the vendors
 * (OpenAI-compatible servers, DashScope) that may leave `index` out. Read as
 * its place in the chunk's list, two calls streamed one a chunk would both be
 * call 0, and merged into one. A fragment without an index that brings an id
 * no call has yet starts the next call, unless its place in the list is free;
 * one with a call's id is that call; one with neither continues the call an
 * id last started (its place in the list when no id did).
 */
export class StreamedToolCallIndexes {
  /** Each call's index, by the id the vendor gave it. */
  private readonly byId = new Map<string, number>();
  /** The indexes calls hold, with their ids ("" while none). */
  private readonly taken = new Map<number, string>();
  /** The call an id without an index last started. */
  private last: number | undefined;

  /** The index of the fragment at `position` in its chunk's list, its `index` as sent read at `field`. */
  indexOf(sent: unknown, id: string, position: number, field: string, ctx: ErrorContext): number {
    if (sent !== undefined && sent !== null) return this.hold(vendorIndex(sent, field, ctx, position), id);
    if (id === "") return this.last ?? this.hold(vendorIndex(undefined, field, ctx, position), id);
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    const held = this.taken.get(position);
    const free = held === undefined || held === "" ? position : Math.max(...this.taken.keys()) + 1;
    this.last = this.hold(vendorIndex(undefined, field, ctx, free), id);
    return this.last;
  }

  private hold(index: number, id: string): number {
    if (!this.taken.get(index)) this.taken.set(index, id);
    if (id !== "" && !this.byId.has(id)) this.byId.set(id, index);
    return index;
  }
}
