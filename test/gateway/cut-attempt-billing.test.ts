// What a call is charged for attempts the gateway cut after their request went
// out (a timeout, a hedge's loser): the vendor had the prompt and bills it, so
// the ledger and the key's spend count it, on success as on failure. A call
// whose deadline had passed before anything was sent is charged nothing and
// counts no upstream request, and so is an attempt cut before its request was
// written to the vendor (its connection still opening). A real gateway in front
// of fake vendors on loopback.
import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { estimatedUsage } from "../../src/gateway/usage-estimate.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startSilentVendor, type SilentVendor } from "../fakes/silent-vendor.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { nanosOf } from "../support/money.js";

const DOLLAR = 1_000_000_000; // nanos
const messages = [{ role: Role.USER, content: "hi" }];
/** The fake counts words: "hi" is 4 prompt tokens, "Echo: hi" 2 completion tokens; at $1 a token, $6. */
const ANSWERED = 6 * DOLLAR;
/** What the gateway estimates the prompt at, the least a vendor bills for an attempt it received. */
const PROMPT = estimatedUsage(create(ChatRequestSchema, { messages }), 0).promptTokens * DOLLAR;

let fake: OpenAIFake;
let silent: SilentVendor;
let gw: TestGateway;
let admin: Client<typeof AdminService>;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-one", extraKeys: ["sk-two"], models: ["gpt-4o", "gpt-4.1"] });
  silent = await startSilentVendor();
  const keys = [
    { secret: "env:K1", weight: 1 },
    { secret: "env:K2", weight: 1 },
  ];
  gw = await startGateway(
    { K1: "sk-one", K2: "sk-two" },
    {
      providers: {
        // A short configured timeout, so that a hung attempt is cut (and the vendor billed) quickly.
        solo: { dialect: "openai", base_url: fake.baseUrl, keys, timeout_ms: 300 },
        hedgy: { dialect: "openai", base_url: fake.baseUrl, keys, hedge: { delay_ms: 50 } },
        silent: { dialect: "openai", base_url: `${silent.origin}/v1`, keys },
      },
      routes: [
        { model: "gpt-4o", provider: "solo" },
        { model: "gpt-4.1", provider: "hedgy" },
        { model: "gpt-4o-mini", provider: "silent" },
      ],
      pricing: {
        models: {
          "gpt-4o": { input: 1_000_000, output: 1_000_000 },
          "gpt-4.1": { input: 1_000_000, output: 1_000_000 },
          "gpt-4o-mini": { input: 1_000_000, output: 1_000_000 },
        },
      },
      traffic: { retry: { base_delay_ms: 1, max_delay_ms: 5, max_attempts: 2, attempts_per_candidate: 2 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      ledger: { flush_interval_ms: 50 },
    },
  );
  admin = createClient(AdminService, gw.transport("connect"));
});
afterAll(async () => {
  // The silent vendor first: until its connection fails, the gateway's vendor pool waits on it to close.
  await silent?.close();
  await gw?.stop();
  await fake?.close();
});

async function keyFor(keyId: string): Promise<string> {
  const { secret } = await admin.createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 1_000n } } } });
  return secret;
}

/** The ledger's charge for the key and its budget's spend, once both have its calls. */
async function charged(keyId: string, expected: number): Promise<void> {
  await expect.poll(async () => nanosOf((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.cost)).toBe(expected);
  await expect.poll(async () => nanosOf((await admin.getKey({ name: `keys/${keyId}` })).key?.budgetStatus?.spent)).toBe(expected);
}

async function upstreamRequests(): Promise<number> {
  const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_upstream_requests_total")!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

async function upstreamRequestsLabelled(status: string): Promise<number> {
  const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_upstream_requests_total")!.get();
  return metric.values.filter((v) => v.labels.status === status).reduce((sum, v) => sum + v.value, 0);
}

describe("attempts cut after their request went out", () => {
  it("a hedge's cancelled loser is charged its prompt besides the answer", async () => {
    const secret = await keyFor("hedged");
    fake.enqueue({ kind: "hang" });
    const res = await gw.client("connect", secret).chat({ model: "gpt-4.1", messages });
    expect(res.attempts.map((a) => [a.outcome, a.hedged])).toEqual([
      ["cancelled", false],
      ["ok", true],
    ]);
    await charged("hedged", ANSWERED + PROMPT);
  });

  it("an attempt cut by its timeout before the retry that answered is charged its prompt", async () => {
    const secret = await keyFor("retried");
    fake.enqueue({ kind: "hang" });
    const res = await gw.client("connect", secret).chat({ model: "gpt-4o", messages });
    expect(res.attempts.map((a) => a.outcome)).toEqual(["timeout", "ok"]);
    await charged("retried", ANSWERED + PROMPT);
  });

  it("a failed call is charged the prompt once per attempt cut, not once in all", async () => {
    const secret = await keyFor("failed");
    fake.enqueue({ kind: "hang" }, { kind: "hang" });
    await expect(gw.client("connect", secret).chat({ model: "gpt-4o", messages })).rejects.toThrow();
    await charged("failed", 2 * PROMPT);
  });

  it("a call whose deadline passed before anything was sent: DeadlineExceeded, no attempt, no upstream request, nothing charged", async () => {
    const secret = await keyFor("too-late");
    const sent = fake.requests.length;
    const counted = await upstreamRequests();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/switchboard.v1.AIService/Chat`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "connect-timeout-ms": "0" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "ROLE_USER", content: "hi" }] }),
      });
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe("deadline_exceeded");
      expect(body.message).toMatch(/deadline/);
      expect(body.message).not.toContain(`"solo"`);
    }
    await expect.poll(async () => Number((await admin.getUsageReport({ key: "keys/too-late" })).total?.requests)).toBe(3);
    await charged("too-late", 0);
    expect(fake.requests.length).toBe(sent);
    expect(await upstreamRequests()).toBe(counted);
  });
});

describe("attempts cut before their request went out", () => {
  /** Opens a stream of `model` and cancels it once `reached` says the gateway's attempt is at the vendor; the caller sees Canceled. */
  async function cancelledStream(secret: string, model: string, reached: () => boolean): Promise<void> {
    const cancel = new AbortController();
    const stream = gw.client("connect", secret).chatStream({ model, messages }, { signal: cancel.signal });
    const reading = (async () => {
      for await (const _ of stream);
    })();
    await expect.poll(reached).toBe(true);
    cancel.abort();
    await expect(reading).rejects.toThrow(/cancel|abort/i);
  }

  it("a stream the caller cancels while the gateway's connection to the vendor is still opening is charged nothing", async () => {
    const secret = await keyFor("never-sent");
    const before = silent.connections;
    await cancelledStream(secret, "gpt-4o-mini", () => silent.connections > before);
    await expect.poll(async () => Number((await admin.getUsageReport({ key: "keys/never-sent" })).total?.requests)).toBe(1);
    await charged("never-sent", 0);
    // Nor is it counted as a request the vendor saw cancelled.
    await expect.poll(() => upstreamRequestsLabelled("not_sent")).toBe(1);
  });

  it("a stream the caller cancels once the vendor has its request is charged its prompt", async () => {
    const secret = await keyFor("sent-then-cut");
    const before = fake.requests.length;
    fake.enqueue({ kind: "hang" });
    // Over the provider without a short timeout, so that nothing but the caller cuts the attempt.
    await cancelledStream(secret, "gpt-4.1", () => fake.requests.length > before);
    await charged("sent-then-cut", PROMPT);
  });
});
