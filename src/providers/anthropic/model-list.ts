// Model lists in Anthropic's shape, for callers of the Anthropic SDKs:
// `GET /v1/models?limit&after_id&before_id` answers {data, has_more, first_id,
// last_id}, each model {type: "model", id, display_name, created_at} with its
// token limits (../shared/reference/vendor-wire-formats.md, Anthropic "List
// models"; the SDKs' models and pagination modules).
import type { JsonObject } from "@bufbuild/protobuf";
import type { Model } from "../../../gen/ts/switchboard/v1/models_pb.js";
import { badRequest } from "../../common/bad-request.js";

/** Anthropic's page size when `limit` is left out, and the most it takes. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
/** The gateway keeps no release date of a model: the epoch says "unknown" in a field the SDKs parse as a date. */
const UNKNOWN_DATE = "1970-01-01T00:00:00Z";

/** One model as Anthropic describes it, under the name the caller used. */
export function toAnthropicModel(model: Model, id = model.id): JsonObject {
  const out: JsonObject = { type: "model", id, display_name: id, created_at: UNKNOWN_DATE };
  if (model.limits?.contextWindow) out.max_input_tokens = model.limits.contextWindow;
  if (model.limits?.maxOutputTokens) out.max_tokens = model.limits.maxOutputTokens;
  return out;
}

/** The page `query` asks for: up to `limit` models after `after_id`, or before `before_id`, in the listing's order. */
export function toAnthropicModelPage(models: readonly Model[], query: URLSearchParams): JsonObject {
  const limit = pageLimit(query.get("limit"));
  const afterId = query.get("after_id");
  const beforeId = query.get("before_id");
  if (afterId !== null && beforeId !== null) throw badRequest({ field: "before_id", description: "set after_id or before_id, not both" });
  let page: readonly Model[];
  let hasMore: boolean;
  if (beforeId !== null) {
    const end = indexOf(models, beforeId, "before_id");
    page = models.slice(Math.max(0, end - limit), end);
    hasMore = end - limit > 0;
  } else {
    const start = afterId === null ? 0 : indexOf(models, afterId, "after_id") + 1;
    page = models.slice(start, start + limit);
    hasMore = start + limit < models.length;
  }
  return { data: page.map((model) => toAnthropicModel(model)), has_more: hasMore, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null };
}

function pageLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!/^\d{1,4}$/.test(raw) || limit < 1 || limit > MAX_LIMIT) throw badRequest({ field: "limit", description: `must be a whole number from 1 to ${MAX_LIMIT}` });
  return limit;
}

function indexOf(models: readonly Model[], id: string, field: string): number {
  const index = models.findIndex((model) => model.id === id);
  if (index < 0) throw badRequest({ field, description: "names no model of the list (GET /v1/models without it lists them)" });
  return index;
}
