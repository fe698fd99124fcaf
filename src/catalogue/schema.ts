// The shape of the model catalogue: what a row may say about a model, checked
// with zod when the gateway starts (the shipped vendor files and the
// operator's `models:` rows alike). One schema, in camelCase; YAML rows are
// read in snake_case (catalogue-config.ts converts the keys).
import { z } from "zod";
import { isGlob } from "../common/glob.js";
import { EFFORT_SCALE } from "../providers/reasoning.js";

/** The request parameters the catalogue has rules for, by their names in ChatParams. */
export const PARAMETERS = ["temperature", "topP", "maxTokens", "stop", "seed", "user", "presencePenalty", "frequencyPenalty"] as const;
export type Parameter = (typeof PARAMETERS)[number];

/** Each parameter as the API names it, in adjustments, headers and docs. */
export const API_NAMES: Record<Parameter, string> = {
  temperature: "temperature",
  topP: "top_p",
  maxTokens: "max_tokens",
  stop: "stop",
  seed: "seed",
  user: "user",
  presencePenalty: "presence_penalty",
  frequencyPenalty: "frequency_penalty",
};

const parameter = z.enum(PARAMETERS);
const positiveInt = z.number().int().positive();

/** A range a number must be in: out-of-range values are clamped, or scaled from the contract's range and then clamped. */
const range = z
  .strictObject({ min: z.number(), max: z.number(), fit: z.enum(["clamp", "scale"]).default("clamp") })
  .refine((r) => r.min <= r.max, "min must not be above max");
export type Range = z.infer<typeof range>;

const parameterRules = z.strictObject({
  /** Ranges narrower than the contract's. */
  ranges: z.strictObject({ temperature: range, topP: range, presencePenalty: range, frequencyPenalty: range }).partial().optional(),
  /** The smallest max_tokens the model takes (a smaller one is raised). */
  minMaxTokens: positiveInt.optional(),
  /** Parameters the vendor refuses: dropped, since sending them fails the call. */
  unsupported: z.array(parameter).optional(),
  /** Parameters the vendor does not document and ignores: dropped, so the caller knows they had no effect. */
  ignored: z.array(parameter).optional(),
  /** Parameters the model takes only at one value (its default): any other value is dropped. */
  fixed: z.strictObject({ temperature: z.number(), topP: z.number() }).partial().optional(),
  /** Groups of which the model takes at most one: the first given is kept, the others dropped. */
  exclusive: z.array(z.array(parameter).min(2)).optional(),
});
export type ParameterRules = z.infer<typeof parameterRules>;

/** The contract's efforts, least first ("minimal" to "max"): a row lists those its model takes. */
const effort = z.enum(EFFORT_SCALE);

const reasoning = z
  .strictObject({
    /** Reasons on every call (true), or only when asked (false). */
    always: z.boolean(),
    /**
     * Reasons unless its switch says not to (open-source Qwen3: `enable_thinking`
     * is true by default): a call that asks for no reasoning is sent the switch
     * off, so that it neither thinks nor pays for thinking nothing reserved.
     */
    byDefault: z.boolean().optional(),
    /**
     * How a request steers it: by effort, by a token budget, only on or off
     * (toggle), or not at all (none: a model that always reasons its own way).
     * adaptive: by effort, the model choosing how much to reason and refusing
     * a budget (Anthropic's `thinking: {type: "adaptive"}` with `output_config.effort`).
     */
    control: z.enum(["effort", "budget", "adaptive", "toggle", "none"]),
    /** The efforts it takes (control "effort" or "adaptive"). */
    efforts: z.array(effort).min(1).optional(),
    /** The budgets it takes (control "budget"). */
    budget: z.strictObject({ min: positiveInt, max: positiveInt }).optional(),
    /**
     * The budget it reasons within when it always reasons and the call gives
     * none (DashScope's default `thinking_budget` is the model's longest chain
     * of thought): spent beyond max_tokens, so reserved, though not sent.
     */
    defaultBudget: positiveInt.optional(),
    /**
     * The levels the vendor's own level field takes (Gemini's
     * `thinkingConfig.thinkingLevel`), where they are more than `efforts`
     * (Gemini 3 Flash's "minimal"). A caller's own level (vendor_options)
     * is checked against these, else against `efforts`.
     */
    levels: z.array(z.string().regex(/^[a-z]+$/, "a level as the vendor spells it, in lower case")).min(1).optional(),
    /** The budget must be below max_tokens, which counts reasoning and answer together (Anthropic). */
    budgetWithinMaxTokens: z.boolean().optional(),
    /** Answers carry the reasoning as text. */
    returnsText: z.boolean(),
    /** What the vendor needs back on the next turn: the text (DeepSeek after tool calls), signed blocks (Anthropic), or nothing. */
    replay: z.enum(["none", "text", "signed"]).default("none"),
    /** Rules that apply while the model reasons (Anthropic refuses a temperature while thinking). */
    parameters: parameterRules.optional(),
    /** Forced tool use is refused while reasoning (Anthropic): a forced choice becomes "auto". */
    noForcedTools: z.boolean().optional(),
    /** Log probabilities are refused while reasoning (DeepSeek's thinking mode answers logprobs and top_logprobs with an error): refused, naming the field, before the vendor is asked. */
    noLogprobs: z.boolean().optional(),
    /** The vendor answers only as a stream while the model reasons (Qwen3's `enable_thinking`): a unary call that reasons is streamed and gathered. */
    streamOnly: z.boolean().optional(),
  })
  .refine((r) => (r.control !== "effort" && r.control !== "adaptive") || r.efforts !== undefined, "a model steered by effort lists its efforts")
  .refine((r) => !r.byDefault || (!r.always && r.control !== "none"), "a model that reasons by default can be told not to: it does not always reason")
  .refine((r) => r.control !== "adaptive" || r.budget === undefined, "a model that thinks adaptively takes no budget")
  .refine((r) => r.control !== "budget" || r.budget !== undefined, "a model steered by budget gives its budget range")
  .refine(
    (r) => r.defaultBudget === undefined || (r.always && r.control === "budget" && r.budget !== undefined && r.defaultBudget >= r.budget.min && r.defaultBudget <= r.budget.max),
    "a default budget is for a model that always reasons within a budget range, and lies within it",
  )
  .refine((r) => r.levels === undefined || (r.control === "effort" && (r.efforts ?? []).every((e) => r.levels!.includes(e))), "levels are for a model steered by effort, and include its efforts");
export type Reasoning = z.infer<typeof reasoning>;

/** Prices per million tokens of each kind; one left unset is the price it falls back to. */
const tokenPrices = {
  /** Per million prompt tokens. */
  input: z.number().min(0),
  /** Per million prompt tokens read from the vendor's cache; `input` when unset. */
  cachedInput: z.number().min(0).optional(),
  /** Per million prompt tokens written to the vendor's cache for its default lifetime (Anthropic: five minutes); `input` when unset. */
  cacheWrite: z.number().min(0).optional(),
  /** Per million prompt tokens written to the vendor's cache for an hour (Anthropic's `ttl: "1h"`); `cacheWrite` when unset. */
  cacheWriteHour: z.number().min(0).optional(),
  /** Per million answer tokens. */
  output: z.number().min(0),
  /** Per million reasoning tokens, where billed apart; `output` when unset. */
  reasoning: z.number().min(0).optional(),
};

const price = z.strictObject({
  ...tokenPrices,
  /** ISO 4217, in the vendor's currency. */
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"),
  /**
   * The prices of a call whose prompt (cache reads and writes included) is
   * over `above` tokens: every token of it, not only those past the mark
   * (Anthropic's 1M-context tier). Same currency; unset prices fall back
   * within the tier.
   */
  longContext: z.strictObject({ above: positiveInt, ...tokenPrices }).optional(),
  /**
   * A call that reasons has its whole answer billed at the `reasoning` price,
   * not only its reasoning: the vendor prices output by mode (Qwen's thinking
   * mode has an output price of its own).
   */
  answerAtReasoningPrice: z.boolean().optional(),
});
export type Price = z.infer<typeof price>;

const embedding = z.strictObject({
  /** The length of a vector. */
  dimensions: positiveInt,
  /** Other lengths it can shorten its vectors to (EmbedRequest.dimensions). */
  shorterDimensions: z.union([z.literal("any"), z.array(positiveInt)]).optional(),
  /** The most texts one vendor request carries. */
  maxBatch: positiveInt.optional(),
});

/** How a model is called on the wire beyond the unified request: the OpenAI dialect's field names that vary by vendor, and whether it answers only as a stream (see ModelTraits). */
const wire = z.strictObject({
  maxTokensField: z.enum(["max_tokens", "max_completion_tokens"]).optional(),
  userField: z.enum(["user", "user_id"]).optional(),
  reasoningEffortField: z.literal("reasoning_effort").optional(),
  reasoningSwitch: z.enum(["thinking", "enable_thinking"]).optional(),
  reasoningBudgetField: z.literal("thinking_budget").optional(),
  parallelToolCallsField: z.literal("parallel_tool_calls").optional(),
  /** The vendor answers the model only as a stream (QwQ, open-source Qwen3): a unary call is streamed and gathered. */
  streamOnly: z.boolean().optional(),
  /** OpenAI dialect: the vendor serves the model only on its Responses API (`/responses`), not on `/chat/completions` (the Codex and -pro models). */
  endpoint: z.literal("responses").optional(),
});
export type Wire = z.infer<typeof wire>;

/** Where a row's facts come from: the vendor's page, and when it was checked (YYYY, YYYY-MM or YYYY-MM-DD). */
export const sourceSchema = z.strictObject(
  {
    url: z.url({ protocol: /^https?$/, error: "must be the http(s) URL of the page the row was checked against" }),
    date: z.string().regex(/^\d{4}(-\d{2}(-\d{2})?)?$/, "must be the date the row was checked: YYYY-MM-DD (or YYYY-MM, YYYY)"),
  },
  { error: "every row needs a source: { url, date } of the page its facts were checked against" },
);
export type Source = z.infer<typeof sourceSchema>;

/** What a row may say, every field optional: rows are layered (vendor defaults, families, the model, the operator's). */
export const factsShape = {
  kind: z.enum(["chat", "embedding"]).optional(),
  contextWindow: positiveInt.optional(),
  maxOutputTokens: positiveInt.optional(),
  /** The most stop sequences a request may carry (OpenAI's 4, Gemini's 5); unset: the vendor names no limit. More are refused, naming the caller's field. */
  maxStopSequences: positiveInt.optional(),
  parameters: parameterRules.optional(),
  jsonMode: z.boolean().optional(),
  jsonSchema: z.boolean().optional(),
  /**
   * Takes JSON mode or a JSON schema in a request that also declares tools.
   * False: the vendor refuses the two together (Gemini before 3: "Function
   * calling with a response mime type: 'application/json' is unsupported"), so
   * with tools the response format is degraded to text (a schema given in a
   * system message) or refused, by the route's policy.
   */
  jsonModeWithTools: z.boolean().optional(),
  tools: z.boolean().optional(),
  /**
   * Takes tool_choice "required" (a call to any one of the tools). False: the
   * API can force only one named function (ERNIE v1's `tool_choice: {type:
   * "function"}`), so "required" forces a lone tool (the codec names it), and
   * with several tools is degraded to auto or refused, by the route's policy.
   */
  requiredToolChoice: z.boolean().optional(),
  parallelToolCalls: z.boolean().optional(),
  imageInput: z.boolean().optional(),
  /** The most tokens one image may cost (the vendor's rule at its largest size), for budgets to reserve; unset: UNKNOWN_IMAGE_TOKENS. */
  imageTokens: positiveInt.optional(),
  /** null: this model does not reason (over a family that does). */
  reasoning: reasoning.nullable().optional(),
  /**
   * Takes system messages inside the conversation, where the caller put them
   * (Anthropic's mid-conversation system messages, Claude Opus 4.8 on). False:
   * every one moves to the start (Qwen; Claude before Opus 4.8, whose top-level
   * system prompt they join). Unset: they stay, but over Anthropic's API, which
   * takes them only from the models that say so (system-placement.ts).
   */
  midConversationSystem: z.boolean().optional(),
  embedding: embedding.optional(),
  price: price.optional(),
  wire: wire.optional(),
};
export const factsSchema = z.strictObject(factsShape);
export type Facts = z.infer<typeof factsSchema>;

/** A model name, or a family by glob ("o3*"). */
const modelName = z.string().min(1).max(200);

/**
 * Other names of the row's very model, with its facts and its price: the dated
 * snapshots (and pointers such as "-latest") its source lists as the same model
 * at the same price ("gpt-4o-mini-2024-07-18"). Any other name that starts with
 * the row's ("gpt-4o-2024-05-13", "o1-pro", "gpt-4o-search-preview") has the
 * row's facts but not its price: it may be billed differently, so it has no
 * price until a row or `pricing.models` gives it one.
 */
const snapshots = z.array(modelName.refine((name) => !isGlob(name), "a snapshot is one model's name, not a glob")).min(1).optional();

/** One row of a vendor file: a model or family, with the source its facts were checked against. */
export const rowSchema = z.strictObject({ model: modelName, snapshots, ...factsShape, source: sourceSchema });
export type Row = z.infer<typeof rowSchema>;

/** A vendor's file: its defaults (every model of the vendor), what differs by wire dialect, and its rows. */
export const vendorSchema = z.strictObject({
  /** The provider name the vendor has in presets ("openai", "qianfan", ...). */
  provider: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  /** The wire dialect only this vendor speaks: a provider of another name that speaks it is this vendor (a regional endpoint, a proxy). */
  nativeDialect: z.string().optional(),
  defaults: z.strictObject({ ...factsShape, source: sourceSchema }),
  /** Facts that differ by the dialect a provider speaks (Qianfan v1 knows no JSON schemas). */
  dialects: z.record(z.string(), factsSchema).optional(),
  models: z.array(rowSchema),
});
export type VendorFile = z.input<typeof vendorSchema>;
export type Vendor = z.infer<typeof vendorSchema>;

/** An operator's row: a vendor file's row, for any provider. */
export const operatorRowSchema = z.strictObject({ provider: z.string().min(1), model: modelName, snapshots, ...factsShape, source: sourceSchema });
export type OperatorRow = z.infer<typeof operatorRowSchema>;
