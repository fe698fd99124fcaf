// What the adapter holds every codec to when it reads a vendor's answer: a
// codec reads hostile data, so anything it throws that is not already an
// UpstreamError (a TypeError on a shape it did not expect, a RangeError from
// JSON nested too deep to write again) is the vendor's bad_response, and
// nothing it returns has a wrong type where the unified answer has a string,
// a position or a number; what the vendor says of its answer (its id, its
// model) is cut and redacted before anything passes it on.
import type { ToolCallDelta, ToolCall } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { MAX_TOOL_CALLS } from "./answer-limits.js";
import { withFitMetadata } from "./answer-metadata.js";
import type { ErrorContext } from "./codec.js";
import { badResponse } from "./codec-errors.js";
import { embedInputCount } from "./embed-inputs.js";
import type { ChatResult, ChatStreamEvent, EmbedParams, EmbedResult, VendorIdentity } from "./provider.js";
import { UpstreamError } from "./upstream-error.js";

/** Runs a codec function on vendor data: an exception that is not an UpstreamError becomes the vendor's bad_response. */
export function guarded<T>(ctx: ErrorContext, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw asUpstreamError(err, ctx);
  }
}

/** An exception out of a codec as an UpstreamError: one already classified as it is, anything else bad_response (naming the exception's class only: its message may quote the vendor's data). */
export function asUpstreamError(err: unknown, ctx: ErrorContext): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const name = err instanceof Error ? err.name : typeof err;
  return badResponse(ctx, `sent an answer the gateway cannot read (${name})`);
}

const isText = (value: unknown): boolean => typeof value === "string";
const isOptionalText = (value: unknown): boolean => value === undefined || typeof value === "string";
/** What an answer says of itself besides its id: each a string when said. */
const soundIdentity = (said: VendorIdentity): boolean => isOptionalText(said.vendorModel) && isOptionalText(said.systemFingerprint) && isOptionalText(said.serviceTier);

/** A stream's unified events, checked (a wrong type anywhere is bad_response), with what they say of the answer made fit to pass on (withFitMetadata). */
export function checkedEvents(events: ChatStreamEvent[], ctx: ErrorContext): ChatStreamEvent[] {
  for (const event of events) {
    const sound =
      event.type === "delta"
        ? isText(event.content) &&
          isOptionalText(event.reasoning) &&
          isOptionalText(event.refusal) &&
          isOptionalText(event.id) &&
          event.toolCalls.every(soundFragment) &&
          (event.reasoningBlocks ?? []).every(soundBlock)
        : isText(event.id) && (event.reasoning ?? []).every(soundBlock);
    if (!sound || !soundIdentity(event)) throw badResponse(ctx, "sent a stream event the gateway cannot read (a field of the wrong type)");
  }
  for (let i = 0; i < events.length; i++) events[i] = withFitMetadata(events[i]!, ctx);
  return events;
}

/** A whole answer, checked as its stream would be, with what it says of itself made fit to pass on (withFitMetadata). */
export function checkedResult(result: ChatResult, ctx: ErrorContext): ChatResult {
  const { message } = result;
  const sound =
    isText(result.id) &&
    soundIdentity(result) &&
    isText(message.content) &&
    isText(message.reasoningContent) &&
    isText(message.refusal) &&
    message.toolCalls.length <= MAX_TOOL_CALLS &&
    message.toolCalls.every(soundCall) &&
    message.reasoning.every(soundBlock);
  if (!sound) throw badResponse(ctx, "answered with a field of the wrong type");
  return withFitMetadata(result, ctx);
}

function soundFragment(fragment: ToolCallDelta): boolean {
  const { index } = fragment;
  return Number.isInteger(index) && index >= 0 && index < MAX_TOOL_CALLS && isText(fragment.id) && isText(fragment.name) && isText(fragment.argumentsFragment);
}

function soundCall(call: ToolCall): boolean {
  return isText(call.id) && isText(call.name) && isText(call.arguments);
}

function soundBlock(block: ReasoningBlock): boolean {
  return isText(block.text) && isText(block.signature) && isText(block.redacted);
}

/**
 * An embedding answer, checked: one vector per input, each a list of finite
 * numbers, all of one length (the length asked for, when the request set
 * `dimensions`). Which vector answers which input is the codec's to read
 * (embeddingsByIndex); a hole left by a missing index fails here too.
 */
export function checkedVectors(result: EmbedResult, params: EmbedParams, ctx: ErrorContext): EmbedResult {
  const { vectors } = result;
  if (!Array.isArray(vectors) || vectors.length !== embedInputCount(params)) throw badResponse(ctx, "answered with the wrong number of embeddings");
  let width: number | undefined = params.dimensions;
  for (let i = 0; i < vectors.length; i++) {
    const vector = vectors[i];
    if (!Array.isArray(vector)) throw badResponse(ctx, `answered with no embedding for input ${i}`);
    for (const value of vector) {
      if (typeof value !== "number" || !Number.isFinite(value)) throw badResponse(ctx, `answered with an embedding for input ${i} that holds something other than finite numbers`);
    }
    if (vector.length === 0) throw badResponse(ctx, `answered with an empty embedding for input ${i}`);
    width ??= vector.length;
    if (vector.length !== width) {
      const expected = params.dimensions !== undefined ? `the ${params.dimensions} dimensions asked for` : `the ${width} of the first`;
      throw badResponse(ctx, `answered with an embedding of ${vector.length} dimensions for input ${i}, not ${expected}`);
    }
  }
  return result;
}
