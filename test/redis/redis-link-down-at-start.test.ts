// With Redis unreachable at start, each of the gateway's four subscriptions waited up to 2 s in turn before the
// gateway listened. A subscription never waits for a link that is down: it is made once Redis is reachable, and its
// re-subscription hook (which every caller has) covers what was missed meanwhile.
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { addressOf, tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

describe("subscribing while Redis is unreachable", () => {
  let link: RedisLink | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await link?.close();
    await proxy?.close();
  });

  it("does not wait, and subscribes once Redis is reachable", async () => {
    // Redis behind a forwarder that takes no connections yet.
    proxy = await tcpProxy(addressOf(requireService("SWITCHBOARD_TEST_REDIS_URL")));
    link = new RedisLink({ url: `redis://127.0.0.1:${proxy.port}`, prefix: redisPrefix(), logger: createLogger("silent") });
    await link.connect();
    expect(link.isUp).toBe(false);

    const received: string[] = [];
    let resubscribed = 0;
    let settled = 0;
    for (const channel of ["revocations", "pool-actions", "cache-purge", "db-secrets"]) {
      void link.subscribe(channel, (message) => received.push(`${channel}: ${message}`), () => resubscribed++).then(() => settled++);
    }
    // Settled before any timer could fire: nothing waits on the link.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(4);

    await proxy.open();
    await expect.poll(() => resubscribed, { timeout: 10_000 }).toBe(4);
    await expect.poll(() => link!.isUp, { timeout: 10_000 }).toBe(true);
    await link.publish("revocations", "key-1");
    await expect.poll(() => received).toEqual(["revocations: key-1"]);
  });
});
