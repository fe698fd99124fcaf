// Fleet messages over Redis are sealed: only an instance holding the pepper
// can send one, each is accepted once and only while fresh. The seal on its
// own (a clock the test drives), then through a real Redis.
import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { createLogger } from "../../src/observability/logger.js";
import { FleetLink } from "../../src/redis/fleet-link.js";
import { FleetSeal } from "../../src/redis/fleet-seal.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { LogCapture } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";

const PEPPER = Buffer.from("a pepper the whole fleet holds, 32b");
const CHANNEL = "sb:pools:actions";

function clocked(start = 1_800_000_000_000, pepper = PEPPER) {
  const clock = { now: start };
  return { clock, seal: FleetSeal.fromPepper(new KeyHasher(pepper), { now: () => clock.now }) };
}

describe("the fleet seal", () => {
  it("opens what an instance with the same pepper sealed, once", () => {
    const sender = clocked().seal;
    const { seal: receiver } = clocked();
    const body = JSON.stringify({ origin: "a", action: { op: "disable", provider: "openai", credentialId: "openai/k1", reason: "leaked" } });
    const message = sender.seal(CHANNEL, body);
    expect(message.startsWith("sbf1.")).toBe(true);
    expect(receiver.open(CHANNEL, message)).toEqual({ body });
    expect(receiver.open(CHANNEL, message)).toEqual({ dropped: "replayed" });
  });

  it("drops a message that is not sealed: what an older instance, or anyone with PUBLISH, sends", () => {
    const { seal } = clocked();
    for (const message of [
      '{"origin":"x","action":{"op":"disable","provider":"openai","credentialId":"openai/k1","reason":"redis"}}',
      "key-1",
      "",
      "sbf1.",
      "sbf1.123.short.mac.{}",
    ]) {
      expect(seal.open(CHANNEL, message)).toEqual({ dropped: "unsigned" });
    }
  });

  it("drops a message sealed under another pepper, for another channel, or altered on the way", () => {
    const { seal } = clocked();
    const body = '{"name":"openai-key"}';
    expect(seal.open(CHANNEL, clocked(undefined, Buffer.from("another fleet's pepper, 32 bytes!")).seal.seal(CHANNEL, body))).toEqual({ dropped: "forged" });
    expect(seal.open(CHANNEL, clocked().seal.seal("sb:keys:changed", body))).toEqual({ dropped: "forged" });
    const sealed = clocked().seal.seal(CHANNEL, body);
    expect(seal.open(CHANNEL, sealed.replace("openai-key", "other-key"))).toEqual({ dropped: "forged" });
    // The time is under the seal too: a replay cannot be made fresh.
    const [mark, time, ...rest] = sealed.split(".");
    expect(seal.open(CHANNEL, [mark, String(Number(time) + 1), ...rest].join("."))).toEqual({ dropped: "forged" });
  });

  it("drops a message sealed more than a minute from the receiver's clock, either way", () => {
    const { clock: senderClock, seal: sender } = clocked();
    const { clock, seal: receiver } = clocked();
    const old = sender.seal(CHANNEL, "a");
    clock.now += 60_001;
    expect(receiver.open(CHANNEL, old)).toEqual({ dropped: "stale" });
    senderClock.now = clock.now + 60_001;
    expect(receiver.open(CHANNEL, sender.seal(CHANNEL, "b"))).toEqual({ dropped: "stale" });
    senderClock.now = clock.now - 59_000;
    expect(receiver.open(CHANNEL, sender.seal(CHANNEL, "c"))).toEqual({ body: "c" });
  });

  it("still refuses a replay once it has forgotten the message: by then it is stale", () => {
    const { clock: senderClock, seal: sender } = clocked();
    const { clock, seal: receiver } = clocked();
    const message = sender.seal(CHANNEL, "a");
    expect(receiver.open(CHANNEL, message)).toEqual({ body: "a" });
    clock.now += 61_000;
    senderClock.now = clock.now;
    // Another message makes the receiver forget the first one's nonce.
    expect(receiver.open(CHANNEL, sender.seal(CHANNEL, "b"))).toEqual({ body: "b" });
    expect(receiver.open(CHANNEL, message)).toEqual({ dropped: "stale" });
  });
});

describe("a fleet link on a real Redis", () => {
  it("delivers sealed messages and drops, counts and logs the rest, never echoing them", async () => {
    const url = requireService("SWITCHBOARD_TEST_REDIS_URL");
    const prefix = redisPrefix();
    const logs = new LogCapture();
    const logger = createLogger("info", logs);
    const registry = new Registry();
    const dropped = new Counter({ name: "dropped_total", help: "h", labelNames: ["channel", "reason"] as const, registers: [registry] });
    const links = [new RedisLink({ url, prefix, logger }), new RedisLink({ url, prefix, logger })];
    try {
      await Promise.all(links.map((link) => link.connect()));
      const [sender, receiver] = links.map((link) => new FleetLink(link, FleetSeal.fromPepper(new KeyHasher(PEPPER)), dropped, logger)) as [FleetLink, FleetLink];
      const heard: string[] = [];
      await receiver.subscribe("keys:changed", (body) => heard.push(body), () => {});
      await links[0]!.publish("keys:changed", "forged-by-a-redis-writer");
      await links[0]!.publish("keys:changed", "sbf1.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.forged-too");
      await sender.publish("keys:changed", "key-1");
      await expect.poll(() => heard, { timeout: 5_000 }).toEqual(["key-1"]);
      const text = await registry.getSingleMetricAsString("dropped_total");
      expect(text).toContain('dropped_total{channel="keys:changed",reason="unsigned"} 1');
      expect(text).toContain('dropped_total{channel="keys:changed",reason="forged"} 1');
      const warnings = logs.entries.filter((entry) => entry.level === "warn" && entry.channel === "keys:changed");
      expect(warnings.map((entry) => entry.reason).sort()).toEqual(["forged", "unsigned"]);
      expect(logs.text).not.toContain("forged-by-a-redis-writer");
      expect(logs.text).not.toContain("forged-too");
    } finally {
      await Promise.all(links.map((link) => link.close()));
    }
  });
});
