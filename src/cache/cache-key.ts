import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import type { RouteCachePolicy } from "../config/cache-config.js";
import type { Candidate } from "../gateway/router.js";
import type { ChatParams } from "../providers/provider.js";
import type { CallCachePolicy } from "./cache-policy.js";
import type { CacheSecret } from "./cache-secret.js";

/** What identifies a cached answer, and what it is filed under (for purges). */
export interface CacheKey {
  /** A keyed hash of the partition, the route's rules for a kept answer, the candidate and the request. */
  id: string;
  partition: string;
  provider: string;
  model: string;
}

/**
 * The key of a chat call's answer: the partition (whose answers these are),
 * the serving route's rules for a kept answer (storedAnswerRules), the
 * candidate that serves it after routing (so an alias and the model it
 * names share entries when their routes' rules agree), and the request in a
 * canonical form.
 *
 * The request is taken whole, generically: every field of ChatRequest as its
 * proto3 JSON form (the model replaced by the routed candidate), with object
 * keys sorted at every depth. A field added to the contract later (reasoning
 * settings, say) changes the key without a change here; key order in
 * `vendor_options`, tool schemas or a response schema, the JSON's whitespace,
 * and fields left at their defaults do not. Left out because they do not
 * change the answer:
 * - `user`: an end-user id for the vendor's abuse monitoring;
 * - `cache_control`: how this call uses the cache, not what it asks.
 *
 * A request written in a vendor's own dialect (`/v1/messages`) sends that
 * vendor more than the unified request says (top_k, output_config, beta
 * headers, blocks as written): its body and dialect headers are keyed too,
 * less what only routes it or names who asks (ORIGINAL_UNKEYED).
 *
 * So is what a surface says beside the contract's fields (besideTheContract):
 * the dialect `vendor_options` were written in decides whether Claude is sent
 * them or has them dropped.
 */
export function cacheKey(secret: CacheSecret, params: ChatParams, candidate: Candidate, { partition, route }: Pick<CallCachePolicy, "partition" | "route">): CacheKey {
  const { $typeName: _type, $unknown: _unknown, original, fieldNames: _names, ...fields } = params as ChatParams & { $typeName?: string; $unknown?: unknown };
  const request = create(ChatRequestSchema, { ...fields, model: "", user: "", cacheControl: CacheControl.UNSPECIFIED });
  const canonical = canonicalJson(toJson(ChatRequestSchema, request));
  const parts = ["chat v2", partition, storedAnswerRules(route), candidate.provider, candidate.upstreamModel, canonical];
  const beside = besideTheContract(fields);
  if (beside) parts.push(canonicalJson(beside));
  if (original) {
    const body = Object.fromEntries(Object.entries(original.body).filter(([field]) => !ORIGINAL_UNKEYED.has(field)));
    parts.push(canonicalJson({ dialect: original.dialect, headers: { ...original.headers }, body }));
  }
  return {
    id: secret.id(...parts),
    partition,
    provider: candidate.provider,
    model: candidate.upstreamModel,
  };
}

/**
 * The route settings that decide which answers an entry may hold and for how
 * long: those `CachePolicy.notStorable` consults (`tool_calls`, `truncated`)
 * and the TTL. They are keyed, not checked when an entry is read: an entry is
 * then only ever read by routes that would have kept it themselves, with the
 * expiry its own TTL gives, in L1, in L2 and in a coalesced hand-off alike,
 * with nothing more to carry in an entry; and a stricter route's miss never
 * writes over (redraws) an answer a looser route's callers are served in a
 * shared partition. Routes with equal settings share entries; routes whose
 * settings differ keep their own, even for an answer both would keep.
 */
function storedAnswerRules({ ttlMs, toolCalls, truncated }: RouteCachePolicy): string {
  return canonicalJson({ ttlMs, toolCalls, truncated });
}

/** The fields of ChatRequest, as ChatParams names them: anything else on ChatParams is a surface's word beside the contract. */
const CONTRACT_FIELDS = new Set(ChatRequestSchema.members.map((member) => member.localName));

/**
 * ChatParams' own fields, those a surface sets beside the contract's, that
 * change what a vendor is sent: all of them but `fieldNames` (it only words
 * errors), and the dialect of `vendor_options` only when there are some (a
 * Chat Completions call without any shares entries with a typed call).
 */
function besideTheContract(fields: Record<string, unknown>): JsonValue | undefined {
  const beside = Object.entries(fields).filter(
    ([field, value]) => value !== undefined && !CONTRACT_FIELDS.has(field) && !(field === "vendorOptionsDialect" && fields.vendorOptions === undefined),
  );
  return beside.length > 0 ? (Object.fromEntries(beside) as JsonValue) : undefined;
}

/** Fields of a dialect's own body that do not change the answer: the model (the candidate is keyed), whether it streams (a cached answer replays as a stream), and the end-user id (as `user`). */
const ORIGINAL_UNKEYED = new Set(["model", "stream", "metadata"]);

/** JSON with every object's keys sorted: one text for one value. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`).join(",")}}`;
}
