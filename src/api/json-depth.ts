import type { ChatParams } from "../providers/provider.js";
import { badRequestOf, type FieldViolation } from "../common/bad-request.js";

/**
 * How deep a JSON value a request may carry: tool parameters, a response
 * schema, vendor options (the `google.protobuf.Struct` fields), and on the
 * REST surface the whole body. Real JSON schemas nest a dozen levels; the
 * bound keeps hostile nesting (100,000 levels) away from everything that
 * walks a value recursively (protobuf encoding, JSON.stringify to vendors).
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests objects and arrays more than `limit` levels deep
 * (`{}` and `[]` are one level, a scalar none). One pass with an explicit
 * stack, so the check itself cannot overflow the call stack, and it stops at
 * the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  const visit = (child: unknown, depth: number): void => {
    if (typeof child === "object" && child !== null) {
      pending.push(child);
      depths.push(depth);
    }
  };
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(node)) for (const child of node) visit(child, depth + 1);
    else for (const key in node) visit((node as Record<string, unknown>)[key], depth + 1);
  }
  return false;
}

/** The message for a value past the bound, the same on every surface. */
export const TOO_DEEP = `nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`;

/**
 * InvalidArgument naming each JSON-valued field (Struct) of a request that
 * nests past MAX_JSON_DEPTH. Decoding has already bounded them (a JSON body's
 * brackets before JSON.parse, protobuf-es' recursion limit after, see
 * http-handler.ts); this gives the one documented limit
 * and says which field broke it, before any of the gateway's code walks them.
 */
export function checkJsonDepth(request: Partial<Pick<ChatParams, "tools" | "responseFormat" | "vendorOptions">>): void {
  const violations: FieldViolation[] = [];
  const check = (field: string, value: unknown) => {
    if (nestsDeeperThan(value, MAX_JSON_DEPTH)) violations.push({ field, description: TOO_DEEP });
  };
  request.tools?.forEach((tool, i) => check(`tools[${i}].parameters`, tool.parameters));
  check("response_format.schema", request.responseFormat?.schema);
  check("vendor_options", request.vendorOptions);
  if (violations.length > 0) throw badRequestOf(violations);
}
