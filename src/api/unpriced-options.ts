// Vendor fields that make a call cost more than the ledger prices it at, or
// reach past the gateway's function tools; refused wherever a caller can set
// them: `vendor_options` (validate.ts) and the fields `/v1/messages` sends on
// to Anthropic as they are (src/api/anthropic/passthrough-fields.ts).
import { excerpt } from "../common/excerpt.js";

/** OpenAI's and Anthropic's tiers that cost no more than the list price. */
const STANDARD_OR_CHEAPER_TIERS = new Set<unknown>(["auto", "default", "flex", "standard_only"]);

/** Unset, null or empty: the field asks for nothing. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/** Unset, false or empty: the switch is off. */
function isOff(value: unknown): boolean {
  return value === false || isEmpty(value);
}

/**
 * Anthropic's context management edits that only drop what the prompt held
 * (old tool results, old thinking): the prompt gets cheaper. Any other edit
 * (compaction, `compact_…`) runs a summarising step of its own, which
 * Anthropic bills in `usage.iterations`, apart from the answer's tokens.
 */
const CLEARING_EDIT = /^clear_/;

/** Why `context_management` is refused: the first of its edits that is not a clearing one. */
function unclearingEdit(management: unknown): string | undefined {
  const edits = typeof management === "object" && management !== null ? (management as { edits?: unknown }).edits : undefined;
  if (!Array.isArray(edits)) return undefined;
  for (const [i, edit] of edits.entries()) {
    const type = typeof edit === "object" && edit !== null ? (edit as { type?: unknown }).type : undefined;
    if (typeof type === "string" && CLEARING_EDIT.test(type)) continue;
    const named = typeof type === "string" ? `"${excerpt(type)}"` : "an edit without a type";
    return `edits[${i}] is ${named}: only edits that clear tool results or thinking (clear_tool_uses_…, clear_thinking_…) may be sent; compaction is a summarising step Anthropic bills apart from the answer's tokens, which the ledger does not price`;
  }
  return undefined;
}

/** Why Qianfan's `web_search` is refused: any value but off, or an object whose `enable` is off. */
function qianfanSearch(search: unknown): string | undefined {
  const enabled = typeof search === "object" && search !== null && !Array.isArray(search) ? !isOff((search as { enable?: unknown }).enable) : !isOff(search);
  return enabled ? "web search is billed per search, which the ledger does not price" : undefined;
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
  // DashScope's (Model Studio's) web search, and the options it takes: billed per search, and the pages found join the prompt past what the call reserved.
  enable_search: (on) => (isOff(on) ? undefined : "DashScope's web search is billed per search, which the ledger does not price"),
  search_options: (options) => (isEmpty(options) ? undefined : "configures DashScope's web search, which is billed per search and is not priced by the ledger"),
  // Qianfan v2's web search: {enable: true, …}.
  web_search: qianfanSearch,
  // Code DashScope runs for the model: a tool past the gateway's function tools.
  enable_code_interpreter: (on) => (isOff(on) ? undefined : "code the vendor runs is a tool past the function tools the gateway runs, billed apart"),
  // Anthropic's server-side compaction: an edit of context_management (beta compact-2026-01-12), or a field of its own (beta compact-2026-09-04).
  context_management: unclearingEdit,
  compaction: (compaction) => (isEmpty(compaction) ? undefined : "compaction is a summarising step Anthropic bills apart from the answer's tokens, which the ledger does not price"),
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

/** Gemini's output kinds: anything but text (images, speech) is billed at prices of its own. */
function onlyText(kinds: unknown): string | undefined {
  const text = Array.isArray(kinds) && kinds.every((kind) => typeof kind === "string" && kind.toUpperCase() === "TEXT");
  return kinds === null || text ? undefined : 'only ["TEXT"]: image and audio answers are billed at prices of their own, which the ledger does not price';
}

const spoken = (config: unknown) => (isEmpty(config) ? undefined : "spoken answers are billed at audio prices, which the ledger does not price");

/**
 * Fields of Gemini's generation config (`generationConfig` or
 * `generation_config`) that make a call cost more than its text tokens at
 * the list price, in both of the spellings Gemini's REST API reads.
 */
export const UNPRICED_GENERATION_OPTIONS: Record<string, (value: unknown) => string | undefined> = {
  responseModalities: onlyText,
  response_modalities: onlyText,
  speechConfig: spoken,
  speech_config: spoken,
};
