// A catalogue entry as the API shows a model: capabilities, limits, prices,
// reasoning and source (ListModels, GET /v1/models, docs/models.md).
import { create } from "@bufbuild/protobuf";
import { ModelLimitsSchema, ModelLongContextPricingSchema, ModelPricingSchema, ModelReasoningSchema, ModelSourceSchema } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Capability, type Model } from "../../gen/ts/switchboard/v1/models_pb.js";
import { MoneySchema, type Money } from "../../gen/ts/google/type/money_pb.js";
import type { ModelEntry } from "./catalogue.js";
import type { ResolvedFacts } from "./facts.js";
import type { Price } from "./schema.js";
import { tokenPrices } from "./token-prices.js";
import { EFFORT_VALUES } from "../providers/reasoning.js";

/** What a model can do, by its facts. */
export function capabilitiesOf(facts: ResolvedFacts): Capability[] {
  if (facts.kind === "embedding") return [Capability.EMBEDDINGS];
  const capabilities = [Capability.CHAT, Capability.STREAMING];
  if (facts.tools !== false) capabilities.push(Capability.TOOLS);
  if (facts.jsonMode) capabilities.push(Capability.JSON_MODE);
  if (facts.jsonSchema) capabilities.push(Capability.JSON_SCHEMA);
  if (facts.parallelToolCalls) capabilities.push(Capability.PARALLEL_TOOL_CALLS);
  if (facts.imageInput) capabilities.push(Capability.IMAGE_INPUT);
  if (facts.reasoning) capabilities.push(Capability.REASONING);
  return capabilities;
}

/** The fields of a Model the catalogue fills. */
export function modelFacts(entry: ModelEntry): Pick<Model, "capabilities" | "limits" | "pricing" | "reasoning" | "source"> {
  const { facts } = entry;
  const price = facts.price;
  const reasoning = facts.reasoning;
  return {
    capabilities: capabilitiesOf(facts),
    limits: create(ModelLimitsSchema, {
      contextWindow: facts.contextWindow ?? 0,
      maxOutputTokens: facts.maxOutputTokens ?? 0,
      embeddingDimensions: facts.embedding?.dimensions ?? 0,
      maxBatch: facts.embedding?.maxBatch ?? 0,
    }),
    pricing: price
      ? create(ModelPricingSchema, {
          ...pricesOf(price, price.currency),
          longContext: price.longContext
            ? create(ModelLongContextPricingSchema, { abovePromptTokens: price.longContext.above, ...pricesOf(price.longContext, price.currency) })
            : undefined,
        })
      : undefined,
    reasoning: reasoning
      ? create(ModelReasoningSchema, {
          always: reasoning.always,
          efforts: reasoning.control === "effort" || reasoning.control === "adaptive" ? (reasoning.efforts ?? []).map((effort) => EFFORT_VALUES[effort]) : [],
          minBudgetTokens: reasoning.control === "budget" ? (reasoning.budget?.min ?? 0) : 0,
          maxBudgetTokens: reasoning.control === "budget" ? (reasoning.budget?.max ?? 0) : 0,
          returnsText: reasoning.returnsText,
        })
      : undefined,
    source: create(ModelSourceSchema, { url: entry.source.url, checked: entry.source.date }),
  };
}

/** One tier's prices as the API shows them: each unset one at the price it is billed at. */
function pricesOf(price: Omit<Price, "currency" | "longContext">, currency: string) {
  const prices = tokenPrices(price);
  return {
    input: money(prices.input, currency),
    cachedInput: money(prices.cachedInput, currency),
    output: money(prices.output, currency),
    reasoning: money(prices.reasoning, currency),
    cacheWrite: money(prices.cacheWrite, currency),
    cacheWrite1h: money(prices.cacheWriteHour, currency),
  };
}

/** An amount per million tokens as google.type.Money (units and nanos). */
function money(amount: number, currency: string): Money {
  const nanos = Math.round(amount * 1e9);
  const units = Math.trunc(nanos / 1e9);
  return create(MoneySchema, { currencyCode: currency, units: BigInt(units), nanos: nanos - units * 1e9 });
}
