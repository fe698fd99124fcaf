// Model lists in the OpenAI shape, both ways: read from vendors that speak
// the dialect, and written for callers of the REST surface.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Money } from "../../../gen/ts/google/type/money_pb.js";
import type { ModelLongContextPricing, ModelPricing } from "../../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Capability, type Model } from "../../../gen/ts/switchboard/v1/models_pb.js";
import { EFFORT_NAMES } from "../reasoning.js";
import type { DiscoveredModel } from "../provider.js";

/** A vendor's `GET /models`; an embedding model is told by its name, all the list says. */
export function fromOpenAIModelList(raw: unknown): { models: DiscoveredModel[] } {
  const data = (raw as { data?: { id?: unknown }[] } | null)?.data;
  const models = (Array.isArray(data) ? data : [])
    .map((model) => model?.id)
    .filter((id): id is string => typeof id === "string")
    .map((id) => ({ id, embeddings: /embed/i.test(id) }));
  return { models };
}

const CAPABILITY_NAMES: Partial<Record<Capability, string>> = {
  [Capability.CHAT]: "chat",
  [Capability.STREAMING]: "streaming",
  [Capability.TOOLS]: "tools",
  [Capability.EMBEDDINGS]: "embeddings",
  [Capability.JSON_MODE]: "json_mode",
  [Capability.JSON_SCHEMA]: "json_schema",
  [Capability.PARALLEL_TOOL_CALLS]: "parallel_tool_calls",
  [Capability.IMAGE_INPUT]: "image_input",
  [Capability.REASONING]: "reasoning",
};

/**
 * A model as `GET /v1/models/{model}` answers it, under the name the caller
 * used: OpenAI's four fields, then what the gateway's catalogue knows
 * (capabilities, limits, prices per million tokens, reasoning, source), which
 * the SDKs keep as extra fields.
 */
export function toOpenAIModel(model: Model, id = model.id): JsonObject {
  const out: JsonObject = { id, object: "model", created: 0, owned_by: model.provider };
  out.capabilities = model.capabilities.map((capability) => CAPABILITY_NAMES[capability] ?? String(capability));
  const limits = model.limits;
  if (limits?.contextWindow) out.context_window = limits.contextWindow;
  if (limits?.maxOutputTokens) out.max_output_tokens = limits.maxOutputTokens;
  if (limits?.embeddingDimensions) out.embedding_dimensions = limits.embeddingDimensions;
  const pricing = model.pricing;
  if (pricing?.input) {
    const long = pricing.longContext;
    out.pricing = {
      currency: pricing.input.currencyCode,
      ...tierPrices(pricing),
      ...(long ? { long_context: { above_prompt_tokens: long.abovePromptTokens, ...tierPrices(long) } } : {}),
    };
  }
  const reasoning = model.reasoning;
  if (reasoning) {
    out.reasoning = {
      always: reasoning.always,
      efforts: reasoning.efforts.map((effort) => EFFORT_NAMES[effort] ?? String(effort)),
      ...(reasoning.maxBudgetTokens ? { budget_tokens: { min: reasoning.minBudgetTokens, max: reasoning.maxBudgetTokens } } : {}),
      returns_text: reasoning.returnsText,
    };
  }
  if (model.source) out.source = { url: model.source.url, checked: model.source.checked };
  return out;
}

export function toOpenAIModelList(models: Model[]): JsonObject {
  return { object: "list", data: models.map((m) => toOpenAIModel(m)) };
}

/** One tier's prices per million tokens, by the names of ListModels' fields. */
function tierPrices(prices: ModelPricing | ModelLongContextPricing): JsonObject {
  return {
    input: amount(prices.input),
    cached_input: amount(prices.cachedInput),
    output: amount(prices.output),
    reasoning: amount(prices.reasoning),
    cache_write: amount(prices.cacheWrite),
    cache_write_1h: amount(prices.cacheWrite1h),
  };
}

/** Money as a decimal number (per million tokens): prices need no more precision than nano-units give. */
function amount(money: Money | undefined): number {
  return money ? Number(money.units) + money.nanos / 1e9 : 0;
}
