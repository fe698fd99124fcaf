// Vendor fields that make a call cost more than the ledger prices it at, or
// reach past the gateway's function tools; refused wherever a caller can set
// them: `vendor_options` (validate.ts) and the fields `/v1/messages` sends on
// to Anthropic as they are (src/api/anthropic/passthrough-fields.ts).

/** OpenAI's and Anthropic's tiers that cost no more than the list price. */
const STANDARD_OR_CHEAPER_TIERS = new Set<unknown>(["auto", "default", "flex", "standard_only"]);

/** Unset, null or empty: the field asks for nothing. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/**
 * Vendor fields that make a call cost more than its tokens at the model's list price, which is all
 * the ledger prices: passed on, a caller would spend past its budget unseen. A cheaper tier is fine.
 * Each answers why a value is refused, or undefined when it is fine.
 */
export const UNPRICED_OPTIONS: Record<string, (value: unknown) => string | undefined> = {
  service_tier: (tier) => (STANDARD_OR_CHEAPER_TIERS.has(tier) ? undefined : `only ${[...STANDARD_OR_CHEAPER_TIERS].map((t) => `"${t}"`).join(", ")}: the ledger prices the standard tier's tokens`),
  modalities: (kinds) => (Array.isArray(kinds) && kinds.every((kind) => kind === "text") ? undefined : "only [\"text\"]: the ledger does not price audio"),
  audio: () => "audio answers are not priced by the ledger",
  web_search_options: () => "web search is billed per call, which the ledger does not price",
  // Anthropic's fast mode and US-only inference cost a multiple of the list price.
  speed: (speed) => (speed === null || speed === "standard" ? undefined : "only \"standard\": the ledger prices the standard speed's tokens"),
  inference_geo: (geo) => (geo === null || geo === "global" ? undefined : "only \"global\": the ledger prices global inference's tokens"),
  // Servers and containers the vendor runs for the model: billed apart, and past the function tools the gateway runs.
  mcp_servers: (servers) => (isEmpty(servers) ? undefined : "remote MCP servers are not run through the gateway, which runs function tools only"),
  container: (container) => (isEmpty(container) ? undefined : "code execution containers are billed by the hour, which the ledger does not price"),
  // Tools the vendor runs (web search, code execution, Google Search grounding) are billed per use; function tools have
  // their own field, where the gateway checks, counts and budgets them.
  tools: (tools) => (isEmpty(tools) ? undefined : "send function tools in `tools`; tools the vendor runs (web search, code execution) are billed per use, which the ledger does not price"),
};
