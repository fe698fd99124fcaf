import type { JsonObject } from "@bufbuild/protobuf";
import { MESSAGES_FIELDS } from "../../providers/anthropic/original-request.js";
import { FieldViolations } from "../aip/field-violations.js";
import { UNPRICED_OPTIONS } from "../unpriced-options.js";

/**
 * The fields of a `/v1/messages` body the unified request does not read go
 * to Anthropic as they are (original-request.ts), past validateChat: they are
 * held here to the rule `vendor_options` are (unpriced-options.ts), so fast
 * mode, a priority tier or remote MCP servers cannot spend past a key's budget
 * or reach past the gateway's function tools.
 */
export function checkPassthroughFields(body: JsonObject): void {
  const v = new FieldViolations();
  for (const [name, problem] of Object.entries(UNPRICED_OPTIONS)) {
    const why = !MESSAGES_FIELDS.has(name) && Object.hasOwn(body, name) ? problem(body[name]) : undefined;
    if (why) v.add(name, why);
  }
  v.throwIfAny();
}
