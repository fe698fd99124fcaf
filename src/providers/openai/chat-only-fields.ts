// Fields of OpenAI's Chat Completions request that the unified request has
// no place for (the SDKs' ChatCompletionCreateParams). The Chat Completions
// surface reads them, a wrong type being InvalidArgument naming the field,
// and keeps them in vendor_options, which vendors of the OpenAI dialect get
// as they are. A vendor of another dialect refuses fields it does not know
// (Anthropic: "Extra inputs are not permitted"; Gemini: "Unknown name"), so
// for it each is said its own way, dropped and reported in the adjustments,
// or refused where the answer would lack what was asked with nothing to say
// so (legacy functions). Log probabilities have a place in the unified
// request (logprobs, top_logprobs), and are refused elsewhere by request fitting.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ChatParams } from "../provider.js";
import type { JsonReader } from "./json-reader.js";

/** What a vendor of another dialect makes of one field. */
type Fate =
  /** Its dialect takes the field by the same name. */
  | { kind: "sent" }
  /** The field asks for nothing the vendor does not do anyway: left out without a word. */
  | { kind: "moot" }
  /** Said the dialect's own way, on the unified request. */
  | { kind: "translated"; apply: (params: ChatParams) => void }
  | { kind: "dropped"; reason: string }
  | { kind: "refused"; reason: string };

interface ChatOnlyField {
  /** Checks the caller's value (null or absent pass). */
  read(value: JsonValue, field: string, read: JsonReader): void;
  /** What a vendor of `dialect` (not OpenAI's) serving `model` makes of a value that is not null. */
  elsewhere(value: JsonValue, dialect: string, model: string): Fate;
}

const SENT: Fate = { kind: "sent" };
const MOOT: Fate = { kind: "moot" };
const dropped = (reason: string): Fate => ({ kind: "dropped", reason });

/** OpenAI-only settings of no meaning elsewhere: dropped when they ask for something. */
function openAIOnly(check: "boolean" | "string" | "object", what: string): ChatOnlyField {
  return {
    read: (value, field, read) => void read[check](value, field),
    elsewhere: (value, _dialect, model) => (isEmpty(value) ? MOOT : dropped(`${what}: ${model} has no such setting`)),
  };
}

const FIELDS: Record<string, ChatOnlyField> = {
  parallel_tool_calls: {
    read: (value, field, read) => void read.boolean(value, field),
    elsewhere(value, dialect, model) {
      // DashScope's own parameters take it by this name (and it is off by default there).
      if (dialect === "dashscope") return SENT;
      if (dialect === "qianfan-v1") return value === false ? MOOT : dropped(`${model} calls one function at a time`);
      // Several calls at once is Claude's and Gemini's default: only false asks for something.
      if (value === true) return MOOT;
      if (dialect === "anthropic") return { kind: "translated", apply: (params) => (params.parallelToolCalls = false) };
      return dropped(`${model} has no switch for parallel function calls, and may call several at once`);
    },
  },
  // The legacy function calling. `/v1/chat/completions` reads it as tools (legacy-functions.ts); here it is a
  // `/v1/responses` caller's own field, which that API never had: refused, the model could call nothing.
  functions: {
    read: (value, field, read) => void read.array(value, field),
    elsewhere: (value, _dialect, model) =>
      isEmpty(value) ? MOOT : { kind: "refused", reason: `legacy functions reach models served in the OpenAI dialect only; send them to ${model} as tools` },
  },
  function_call: {
    read: (value, field, read) => void (typeof value === "string" ? value : read.object(value, field)),
    // Refused with `functions`, or asks nothing without them.
    elsewhere: () => MOOT,
  },
  // An end-user id for abuse monitoring, as the unified `user` is (Anthropic's metadata.user_id).
  safety_identifier: {
    read: (value, field, read) => void read.string(value, field),
    elsewhere: (value) => (typeof value === "string" && value !== "" ? { kind: "translated", apply: (params) => (params.user ||= value) } : MOOT),
  },
  service_tier: {
    read: (value, field, read) => void read.string(value, field),
    // A tier that costs more is refused on every surface (unpriced-options.ts); "auto" and "default" ask for the standard tier.
    elsewhere: (value, _dialect, model) => (value === "auto" || value === "default" ? MOOT : dropped(`OpenAI's service tiers: ${model} is served at its standard tier`)),
  },
  store: openAIOnly("boolean", "OpenAI's stored completions"),
  metadata: openAIOnly("object", "tags of OpenAI's stored completions"),
  prediction: openAIOnly("object", "OpenAI's predicted outputs"),
  logit_bias: openAIOnly("object", "biases by OpenAI's token ids"),
  // Anthropic's automatic prompt caching, as Anthropic names it: a breakpoint on the request's last cacheable block.
  cache_control: {
    read: (value, field, read) => void read.object(value, field),
    elsewhere: (value, dialect, model) =>
      dialect === "anthropic" ? SENT : isEmpty(value) ? MOOT : dropped(`Anthropic's cache breakpoints: ${model} has no such setting`),
  },
  prompt_cache_key: {
    read: (value, field, read) => void read.string(value, field),
    // Claude finds a cached prompt by its prefix alone, marked by the gateway (automatic-prompt-caching.ts): there is nothing to route.
    elsewhere: (value, dialect, model) => (dialect === "anthropic" || isEmpty(value) ? MOOT : dropped(`OpenAI's prompt cache routing: ${model} has no such setting`)),
  },
  prompt_cache_retention: {
    read: (value, field, read) => void read.string(value, field),
    elsewhere(value, dialect, model) {
      // In memory (OpenAI's default, minutes) is what Claude's default five-minute cache does.
      if (dialect === "anthropic") return value === "in-memory" || value === "in_memory" ? MOOT : dropped(`${model} keeps a cached prompt five minutes from its last use (an hour with cache_control.ttl "1h")`);
      return isEmpty(value) ? MOOT : dropped(`OpenAI's prompt cache retention: ${model} has no such setting`);
    },
  },
  verbosity: openAIOnly("string", "GPT-5's verbosity"),
  // Refused on every surface unless they ask for plain text and one answer (validate.ts): what is left asks nothing.
  modalities: { read: (value, field, read) => void read.array(value, field), elsewhere: () => MOOT },
  n: { read: (value, field, read) => void read.number(value, field), elsewhere: () => MOOT },
  audio: { read: () => undefined, elsewhere: () => MOOT },
  web_search_options: { read: () => undefined, elsewhere: () => MOOT },
};

/**
 * Dialects whose requests are OpenAI's flat parameters under other roots
 * (DashScope's `parameters`, ERNIE v1's body): a caller's own fields there
 * (DashScope's enable_search, ERNIE's disable_search) mean what they mean in
 * those vendors' OpenAI-compatible modes, and go on. Anthropic and Gemini
 * have schemas of their own and refuse any field they do not know.
 */
const TAKES_CALLERS_FIELDS = new Set(["openai", "dashscope", "qianfan-v1"]);

/** Checks the type of each Chat Completions field of `body` the unified request has no place for. */
export function readChatOnlyFields(body: JsonObject, read: JsonReader): void {
  for (const [field, value] of Object.entries(body)) {
    if (value !== null && Object.hasOwn(FIELDS, field)) FIELDS[field]!.read(value, field, read);
  }
}

/** What fitting the fields to one vendor changed: each field dropped (for the adjustments), or the one that cannot be sent there. */
export interface ChatOnlyFit {
  dropped: { field: string; requested: string; reason: string }[];
  refused?: { field: string; reason: string };
}

/**
 * Fits `params` (a copy, changed in place) to a vendor of `dialect` serving
 * `model`, when its vendor_options came from the Chat Completions surface:
 * vendors of the OpenAI dialect get them as they are; others get each field
 * said their way, or not at all (reported), or the request is refused.
 */
export function fitChatOnlyFields(params: ChatParams, dialect: string | undefined, model: string): ChatOnlyFit {
  const fit: ChatOnlyFit = { dropped: [] };
  const options = params.vendorOptions;
  if (params.vendorOptionsDialect !== "openai" || !options || dialect === undefined || dialect === "openai") return fit;
  const sent: JsonObject = {};
  for (const [field, value] of Object.entries(options)) {
    const rule = Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
    const fate: Fate = !rule
      ? TAKES_CALLERS_FIELDS.has(dialect)
        ? SENT
        : dropped(`${model}'s API takes no such field (a caller's own fields go only to vendors that take OpenAI's parameters)`)
      : value === null
        ? MOOT
        : rule.elsewhere(value, dialect, model);
    switch (fate.kind) {
      case "sent":
        sent[field] = value;
        break;
      case "translated":
        fate.apply(params);
        break;
      case "dropped":
        fit.dropped.push({ field, requested: shown(value), reason: fate.reason });
        break;
      case "refused":
        fit.refused ??= { field, reason: fate.reason };
        break;
    }
  }
  params.vendorOptions = Object.keys(sent).length > 0 ? sent : undefined;
  return fit;
}

/** Unset, false, 0, empty: asks for nothing. */
function isEmpty(value: JsonValue): boolean {
  if (value === null || value === false || value === "" || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/** A value as an adjustment shows it: flags and numbers as they are; texts and objects (ids, tags, predicted text) are not repeated. */
function shown(value: JsonValue): string {
  return typeof value === "boolean" || typeof value === "number" ? String(value) : "(set)";
}
