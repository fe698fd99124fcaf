import type { FieldViolation } from "./bad-request.js";
import { excerpt } from "./excerpt.js";
import { MAX_JSON_DEPTH, TOO_DEEP } from "./json-nesting.js";

/**
 * Keys and array elements (each value inside an object or array is one) that
 * the free-form JSON values of one request may hold together: tool parameter
 * schemas, the response schema, and vendor options (the REST surfaces'
 * unknown fields, `vendor_options`). Each is walked several times on the main
 * thread (converted to and from google.protobuf.Struct, counted for the
 * budget, canonicalised for the cache key, written to the vendor): a 400,000-key
 * option took 4 s of CPU every other call waited on. Real requests hold a few
 * hundred (Claude Code's 12 tools, 2.1.x: 316; Codex's 9: 313; its options
 * under 10), and a hundred MCP tools a few thousand: the bound is above 512
 * tools (MAX_TOOLS) of an average schema's size, and about 0.5 s of that work.
 */
export const MAX_JSON_NODES = 50_000;

/** The message for values past the bound, the same on every surface. */
export const TOO_MANY_NODES = `takes the request's JSON values (tool parameters, response schemas, vendor options) past the ${MAX_JSON_NODES} keys and array elements they may hold together`;

/**
 * What a request's free-form JSON values break of MAX_JSON_DEPTH and
 * MAX_JSON_NODES (or the `limits` given), as `[field, value]` pairs
 * (`fields` may be lazy: it is read only until the nodes run out). Each
 * field is one node, and each key or element inside it one more, counted
 * against one budget for the request; depth is each value's own. Every field
 * nested too deep is named; the first that runs the budget out is named, and
 * ends the count.
 *
 * One pass, with an explicit stack (the check cannot overflow the call
 * stack), stopping at the budget's end: an array is charged its length before
 * a step through it; an object's keys are enumerated as they are counted
 * (V8 collects a wide object's keys at once, as any read of them does).
 */
export function jsonValueViolations(fields: Iterable<readonly [field: string, value: unknown]>, limits: JsonValueLimits = REQUEST_LIMITS): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const budget = { left: limits.nodes };
  for (const [field, value] of fields) {
    const problem = --budget.left < 0 ? TOO_MANY_NODES : outgrows(value, limits.depth, budget);
    if (problem) violations.push({ field, description: problem === TOO_MANY_NODES ? limits.tooMany : problem });
    if (problem === TOO_MANY_NODES) break;
  }
  return violations;
}

/** Refuses, through the surface's `reject`, the first of jsonValueViolations' findings: counted before anything else walks the values. */
export function rejectOutsized(
  fields: Iterable<readonly [field: string, value: unknown]>,
  reject: (field: string, problem: string) => never,
  limits: JsonValueLimits = REQUEST_LIMITS,
): void {
  const [outsized] = jsonValueViolations(fields, limits);
  if (outsized) reject(outsized.field, outsized.description);
}

/** A budget for jsonValueViolations: each value's depth, the nodes of all of them, and what the one past them is told. */
export interface JsonValueLimits {
  depth: number;
  nodes: number;
  tooMany: string;
}

const REQUEST_LIMITS: JsonValueLimits = { depth: MAX_JSON_DEPTH, nodes: MAX_JSON_NODES, tooMany: TOO_MANY_NODES };

/** Each of `object`'s own fields as `[field, value]`, named `prefix` + its key (an excerpt: the caller chose it); lazily, for jsonValueViolations. */
export function* fieldsOf(object: Record<string, unknown>, skip: (key: string) => boolean = () => false, prefix = ""): Generator<readonly [string, unknown]> {
  for (const key in object) if (!skip(key)) yield [`${prefix}${excerpt(key)}`, object[key]];
}

/** `value[key]` when `value` is an object or array, else undefined: for naming a field inside a body not yet read. */
export function memberOf(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Whether `value` nests objects and arrays more than `limit` levels deep (`{}` and `[]` are one level, a scalar none). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  return outgrows(value, limit, { left: Infinity }) === TOO_DEEP;
}

/** TOO_DEEP or TOO_MANY_NODES for the first bound `value` breaks (its nodes taken from `budget`), undefined when it keeps both. */
function outgrows(value: unknown, depthLimit: number, budget: { left: number }): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > depthLimit) return TOO_DEEP;
    if (Array.isArray(node)) {
      if ((budget.left -= node.length) < 0) return TOO_MANY_NODES;
      for (const child of node) {
        if (typeof child === "object" && child !== null) {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        if (--budget.left < 0) return TOO_MANY_NODES;
        const child = (node as Record<string, unknown>)[key];
        if (typeof child === "object" && child !== null) {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}
