// Each Redis link says, when it comes up, what Redis gives its own callers: the response cache's own Redis
// (SWITCHBOARD_CACHE_REDIS_URL) said "limits, spend counters and revocations are shared" (audit cache2, finding 4),
// which in an incident reads as budgets being shared again when only the cache's Redis came back.
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

describe("a Redis link's reachable line", () => {
  let link: RedisLink | undefined;
  afterEach(async () => {
    await link?.close();
  });

  it.each([
    [undefined, "Redis reachable: limits, spend counters and revocations are shared"],
    ["the response cache is shared across instances", "Redis reachable: the response cache is shared across instances"],
  ])("says what it gives (%s)", async (whileUp, line) => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk)).msg), done()) });
    link = new RedisLink({ url: requireService("SWITCHBOARD_TEST_REDIS_URL"), prefix: redisPrefix(), logger: createLogger("info", destination), whileUp });
    await link.connect();
    await expect.poll(() => lines).toContain(line);
  });
});
