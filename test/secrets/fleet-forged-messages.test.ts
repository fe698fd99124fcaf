// Whoever can PUBLISH to the gateway's Redis cannot act as an instance: two
// gateways sharing a real Redis and a pepper, and an adversary with a plain
// Redis client. Unsealed, forged and replayed messages are dropped, counted
// and logged without their content; the instances' own still act fleet-wide.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { FleetSeal } from "../../src/redis/fleet-seal.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix } from "../support/stores.js";
import { adminClient, calls, credentials } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const K1 = "sk-fleet-forged-k1-0123456789";
const K2 = "sk-fleet-forged-k2-9876543210";
const PEPPER = "the fleet's pepper, shared by every instance";
const name = (id: string) => `providers/openai/credentials/${id}`;

describe("fleet messages over Redis", () => {
  const prefix = redisPrefix();
  let fake: OpenAIFake;
  let a: TestGateway;
  let b: TestGateway;
  let adversary: Redis;
  let listener: Redis;
  let captured: string[];

  beforeAll(async () => {
    const url = requireService("SWITCHBOARD_TEST_REDIS_URL");
    fake = await startOpenAIFake({ apiKey: K1, extraKeys: [K2] });
    const env = { REDIS_URL: url, REDIS_PREFIX: prefix, SWITCHBOARD_PEPPER: PEPPER, OPENAI_K1: K1, OPENAI_K2: K2 };
    const file = {
      providers: {
        openai: {
          base_url: fake.baseUrl,
          keys: [
            { id: "k1", secret: "env:OPENAI_K1", weight: 1 },
            { id: "k2", secret: "env:OPENAI_K2", weight: 1 },
          ],
        },
      },
    };
    a = await startGateway(env, file);
    b = await startGateway(env, file);
    adversary = new Redis(url);
    // The adversary also listens: what an instance publishes can be captured and sent again.
    captured = [];
    listener = new Redis(url);
    await listener.subscribe(`${prefix}pools:actions`);
    listener.on("message", (_channel: string, message: string) => captured.push(message));
  });
  afterAll(async () => {
    adversary?.disconnect();
    listener?.disconnect();
    await a?.stop();
    await b?.stop();
    await fake?.close();
  });

  const state = async (gateway: TestGateway, id: string) => (await credentials(adminClient(gateway), "openai")).byName.get(name(id))?.state;
  const dropped = async (gateway: TestGateway, channel: string, reason: string) => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`switchboard_fleet_messages_dropped_total{channel="${channel}",reason="${reason}"}`));
    return line ? Number(line.split(" ").pop()) : 0;
  };

  it("ignores a key-pool action anyone published to Redis: no key is disabled, every call is served", async () => {
    for (const id of ["k1", "k2"]) {
      await adversary.publish(`${prefix}pools:actions`, JSON.stringify({ origin: "x", action: { op: "disable", provider: "openai", credentialId: `openai/${id}`, reason: "redis" } }));
    }
    await eventually(async () => expect(await dropped(a, "pools:actions", "unsigned")).toBe(2), 5_000);
    await eventually(async () => expect(await dropped(b, "pools:actions", "unsigned")).toBe(2), 5_000);
    for (const gateway of [a, b]) {
      expect(await state(gateway, "k1")).toBe(CredentialState.ACTIVE);
      expect(await state(gateway, "k2")).toBe(CredentialState.ACTIVE);
      expect((await calls(gateway, 4)).failed).toEqual([]);
      expect(gateway.logs.entries.some((e) => e.msg === "applied another instance's key-pool action")).toBe(false);
      const warning = gateway.logs.entries.find((e) => e.level === "warn" && e.channel === "pools:actions" && e.reason === "unsigned");
      expect(warning?.msg).toMatch(/^ignored a message on a fleet channel that is not sealed/);
      expect(gateway.logs.text).not.toContain('"reason":"redis"');
    }
  });

  it("ignores one sealed under another pepper", async () => {
    const other = FleetSeal.fromPepper(new KeyHasher(Buffer.from("a pepper this fleet does not hold")));
    const body = JSON.stringify({ origin: "x", action: { op: "disable", provider: "openai", credentialId: "openai/k1", reason: "forged" } });
    await adversary.publish(`${prefix}pools:actions`, other.seal(`${prefix}pools:actions`, body));
    await eventually(async () => expect(await dropped(b, "pools:actions", "forged")).toBe(1), 5_000);
    expect(await state(b, "k1")).toBe(CredentialState.ACTIVE);
  });

  it("carries an operator's action to the other instance once: the same message sent again is dropped", async () => {
    await adminClient(a).disableKey({ name: name("k2"), reason: "leaked" });
    const applied = () => b.logs.entries.filter((e) => e.msg === "applied another instance's key-pool action");
    await eventually(async () => expect(await state(b, "k2")).toBe(CredentialState.DISABLED), 5_000);
    // The pool changes before the disable is stored and logged: wait for the log before the replay.
    await eventually(() => expect(applied()).toHaveLength(1), 5_000);
    // The adversary's own subscription hears the message in its own time, not when b does.
    const disable = () => captured.find((message) => message.includes('"op":"disable"') && message.includes("leaked"));
    await eventually(() => expect(disable()).toBeDefined(), 5_000);
    const sealed = disable();
    await adversary.publish(`${prefix}pools:actions`, sealed!);
    await eventually(async () => expect(await dropped(b, "pools:actions", "replayed")).toBe(1), 5_000);
    expect(applied()).toHaveLength(1);
  });

  it("seals the other fleet channels too: key changes, database secret notices, cache purges", async () => {
    for (const [channel, message] of [
      ["keys:changed", "key-1"],
      ["secrets:db-changed", JSON.stringify({ name: "openai", version: 9 })],
      ["cache:purged", JSON.stringify({ origin: "x", filter: {} })],
    ] as const) {
      await adversary.publish(`${prefix}${channel}`, message);
      for (const gateway of [a, b]) await eventually(async () => expect(await dropped(gateway, channel, "unsigned")).toBe(1), 5_000);
    }
  });
});
