import type { ChatParams } from "../providers/provider.js";
import { badRequestOf } from "../common/bad-request.js";
import { MAX_JSON_DEPTH, TOO_DEEP } from "../common/json-nesting.js";
import { jsonValueViolations, MAX_JSON_NODES, nestsDeeperThan } from "../common/json-value-bounds.js";

// The bounds live beside the counts (codecs hold a tool call's arguments to them too); named here for the services.
export { MAX_JSON_DEPTH, MAX_JSON_NODES, nestsDeeperThan, TOO_DEEP };

/**
 * InvalidArgument naming each JSON-valued field (Struct) of a request that
 * nests past MAX_JSON_DEPTH, or the one that takes them all past
 * MAX_JSON_NODES. Decoding has already bounded their depth (a JSON body's
 * brackets before JSON.parse, protobuf-es' recursion limit after, see
 * http-handler.ts) and built them; this gives the documented limits and says
 * which field broke one, before any of the gateway's code walks them.
 */
export function checkJsonValues(request: Partial<Pick<ChatParams, "tools" | "responseFormat" | "vendorOptions">>): void {
  const violations = jsonValueViolations(jsonValuesOf(request));
  if (violations.length > 0) throw badRequestOf(violations);
}

function* jsonValuesOf(request: Partial<Pick<ChatParams, "tools" | "responseFormat" | "vendorOptions">>): Generator<readonly [string, unknown]> {
  for (const [i, tool] of (request.tools ?? []).entries()) yield [`tools[${i}].parameters`, tool.parameters];
  yield ["response_format.schema", request.responseFormat?.schema];
  yield ["vendor_options", request.vendorOptions];
}
