import type { ChatParams } from "../providers/provider.js";
import { badRequestOf, type FieldViolation } from "../common/bad-request.js";
import { MAX_JSON_DEPTH, TOO_DEEP } from "../common/json-nesting.js";

// The bound lives beside the count (codecs hold a tool call's arguments to it too); named here for the services.
export { MAX_JSON_DEPTH, TOO_DEEP };

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
