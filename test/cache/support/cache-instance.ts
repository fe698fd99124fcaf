import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, MessageSchema, Role, UsageSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { CachePolicy } from "../../../src/cache/cache-policy.js";
import { CacheSecret } from "../../../src/cache/cache-secret.js";
import { MemoryCache } from "../../../src/cache/memory-cache.js";
import { RedisTier } from "../../../src/cache/redis-tier.js";
import { TieredCache } from "../../../src/cache/tiered-cache.js";
import { DEFAULT_CACHE } from "../../../src/config/cache-config.js";
import type { CallContext } from "../../../src/gateway/call-context.js";
import type { CacheableAnswer } from "../../../src/gateway/response-cache.js";
import { createLogger } from "../../../src/observability/logger.js";
import { GatewayMetrics } from "../../../src/observability/metrics.js";
import { RedisErrors } from "../../../src/redis/redis-errors.js";
import type { RedisLink } from "../../../src/redis/redis-link.js";

/**
 * One gateway instance's response cache, wired as the gateway wires it but
 * without a gateway around it: on a shared Redis link, every answer shared by
 * the route, on the test's clock.
 */
export const logger = createLogger("silent");
export const openai = { provider: "openai", upstreamModel: "gpt-4o-mini" };
const secret = new CacheSecret(Buffer.from("a cache secret for the cache instance tests"));
export const now = () => 7_000_000;

export function cacheInstance(link: RedisLink) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const tier = new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), DEFAULT_CACHE.redis);
  const memory = new MemoryCache({ maxEntries: 100, maxBytes: 1_000_000, now });
  const policy = new CachePolicy([], { ...DEFAULT_CACHE.defaults, share: "route" });
  const cache = new TieredCache({ policy, secret, memory, redis: tier, metrics, logger, now });
  return { metrics, tier, cache };
}

export const question = (content: string, fields: Record<string, unknown> = {}) =>
  create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content }], temperature: 0, ...fields });

export const answer = (content: string): CacheableAnswer => ({
  id: `chatcmpl-${content}`,
  message: create(MessageSchema, { role: Role.ASSISTANT, content }),
  finishReason: FinishReason.STOP,
  usage: create(UsageSchema, { promptTokens: 5, completionTokens: 3, totalTokens: 8 }),
  served: openai,
});

export const ctx = (keyId: string): CallContext => ({ principal: { keyId, name: keyId, admin: false }, signal: new AbortController().signal, requestId: `r-${keyId}` });
