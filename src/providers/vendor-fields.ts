// Fields of a vendor's answer whose JSON type the gateway cannot take on
// trust: a string field that is a number (or an array, or an object) would
// otherwise reach the unified answer, where the API's encoders refuse it
// (Internal) or REST writes it on to callers as it came.
import type { ErrorContext } from "./codec.js";
import { badResponse } from "./codec-errors.js";
import { MAX_TOOL_CALLS } from "./answer-limits.js";

/**
 * A string field of a vendor's answer (text, reasoning, a tool call's id,
 * name or arguments): absent or null reads as "", as vendors leave fields
 * out; any other type is the vendor breaking its contract, bad_response
 * naming the field (reading it as "" would pass a cut answer off as whole).
 */
export function vendorString(value: unknown, field: string, ctx: ErrorContext): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw badResponse(ctx, `sent ${field} that is not a string`);
  return value;
}

/**
 * A tool call's position among the answer's calls: absent or null reads as
 * `fallback` (its place in the list); anything but a whole number from 0 to
 * MAX_TOOL_CALLS - 1 is bad_response, so that no vendor makes the gateway
 * (or its callers) build an array of any length, or index it with a string.
 */
export function vendorIndex(value: unknown, field: string, ctx: ErrorContext, fallback: number): number {
  const index = value === undefined || value === null ? fallback : value;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= MAX_TOOL_CALLS) {
    throw badResponse(ctx, `sent ${field} that is not a tool call position from 0 to ${MAX_TOOL_CALLS - 1}`);
  }
  return index;
}

/** An array field: absent or null reads as []; any other non-array is bad_response naming the field. */
export function vendorArray(value: unknown, field: string, ctx: ErrorContext): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badResponse(ctx, `sent ${field} that is not an array`);
  return value;
}

/** An object field: absent or null reads as {}; any other non-object is bad_response naming the field. */
export function vendorObject(value: unknown, field: string, ctx: ErrorContext): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badResponse(ctx, `sent ${field} that is not an object`);
  return value as Record<string, unknown>;
}

/**
 * A vendor's embeddings, each an item of `items` with its input's position
 * under `indexKey` (its place in the list when absent) and its vector under
 * `vectorKey`, put in input order: exactly one item per input, every
 * position once, every vector an array; else bad_response. (The values are
 * checked by the adapter: checkedVectors.)
 */
export function vectorsByIndex(items: unknown, count: number, keys: { list: string; index: string; vector: string }, ctx: ErrorContext): unknown[][] {
  const list = vendorArray(items, keys.list, ctx);
  if (list.length !== count) throw badResponse(ctx, `answered with ${list.length} embeddings for ${count} inputs`);
  const vectors: unknown[][] = new Array<unknown[]>(count);
  const seen = new Set<number>();
  list.forEach((raw, position) => {
    const item = vendorObject(raw, `${keys.list}[${position}]`, ctx);
    const at = item[keys.index] ?? position;
    if (typeof at !== "number" || !Number.isInteger(at) || at < 0 || at >= count) {
      throw badResponse(ctx, `answered with ${keys.list}[${position}].${keys.index} that is not the position of an input (0 to ${count - 1})`);
    }
    if (seen.has(at)) throw badResponse(ctx, `answered with two embeddings for input ${at}`);
    seen.add(at);
    const vector = item[keys.vector];
    if (!Array.isArray(vector)) throw badResponse(ctx, `answered with ${keys.list}[${position}].${keys.vector} that is not a list of numbers`);
    vectors[at] = vector;
  });
  return vectors;
}
