// Claude counts the prompt in its first stream event, message_start: input tokens, cache reads and cache
// writes by lifetime (../shared/reference/vendor-wire-formats.md §4, "input from message_start"; the fake
// sends them there as Anthropic does). Audit "agents", findings 2 and 4:
// - a Claude stream cut after its first deltas (Claude Code's interrupts) is charged those counts, cache
//   reads and writes at their prices, not the character estimate of the prompt at the input price;
// - /v1/messages says them in its own message_start, where @anthropic-ai/sdk's MessageStream takes the
//   split of cache writes by lifetime from (message_delta's is not read): finalMessage() then has the
//   unary answer's split, not 0/0. A vendor that counts nothing before the end leaves it null there.
import Anthropic from "@anthropic-ai/sdk";
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { MASTER_KEY } from "../support/gateway.js";
import { nanosOf, nanosPerTokenAt } from "../support/money.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";

let world: ThreeVendors;
let admin: Client<typeof AdminService>;

beforeAll(async () => {
  world = await startThreeVendors({ file: { routes: [{ model: "claude-on-gpt", provider: "openai", upstream_model: "gpt-4o-mini" }] } });
  admin = createClient(AdminService, world.gw.transport("connect"));
});
afterAll(async () => {
  await world?.stop();
});

/** Runs `test` with the Anthropic fake's options changed, restoring them after. */
async function withAnthropic<T>(changes: Partial<ThreeVendors["anthropic"]["options"]>, test: () => Promise<T>): Promise<T> {
  const options = world.anthropic.options;
  const before = { ...options };
  Object.assign(options, changes);
  try {
    return await test();
  } finally {
    Object.assign(options, Object.fromEntries(Object.keys(changes).map((name) => [name, before[name as keyof typeof before]])));
  }
}

describe("a Claude stream cut after its first deltas", () => {
  it("is charged the prompt Claude counted in message_start, cache reads and writes at their prices", async () => {
    const { secret } = await admin.createKey({ keyId: "interrupted", key: { displayName: "Claude Code", budget: { limit: { units: 100n } } } });
    // A system prompt of 400,000 characters (the gateway's estimate: 100,000 tokens), of which Claude read
    // 99,000 tokens from its cache and wrote 1,000 (600 for an hour); the answer is long, and slow to come.
    await withAnthropic({ cacheReadTokens: 99_000, cacheCreationTokens: 1_000, cacheCreation1hTokens: 600, extraWords: 2_000, chunkDelayMs: 5 }, async () => {
      const caller = new AbortController();
      const res = await fetch(`${world.gw.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": secret, "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 4_096,
          stream: true,
          system: [{ type: "text", text: "x".repeat(400_000), cache_control: { type: "ephemeral" } }],
          messages: [{ role: "user", content: "interrupt me" }],
        }),
        signal: caller.signal,
      });
      expect(res.status).toBe(200);
      // The caller reads five text deltas, then hangs up (Esc in Claude Code).
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let read = "";
      while ((read.match(/"text_delta"/g) ?? []).length < 5) read += decoder.decode((await reader.read()).value);
      caller.abort();
    });

    const report = async () => (await admin.getUsageReport({ key: "keys/interrupted" })).total;
    await expect.poll(async () => (await report())?.errors).toBe(1n);
    const total = (await report())!;
    // The fake counts words: 1 of system, 2 of message and 3 of framing, beside the cache's.
    expect(total.cachedTokens).toBe(99_000n);
    expect(total.promptTokens).toBe(6n + 99_000n + 1_000n);
    // The few tokens streamed before the cut, estimated (the answer would have been over 2,000).
    const completion = Number(total.completionTokens);
    expect(completion).toBeGreaterThan(0);
    expect(completion).toBeLessThan(2_000);
    // claude-sonnet-4-5: in $3, cache reads $0.30, writes $3.75 (5 min) and $6 (1 h), out $15: about $0.035,
    // where 100,000 estimated tokens at $3 would be $0.30.
    const cost = 6 * nanosPerTokenAt(3) + 99_000 * nanosPerTokenAt(0.3) + 400 * nanosPerTokenAt(3.75) + 600 * nanosPerTokenAt(6) + completion * nanosPerTokenAt(15);
    expect(nanosOf(total.cost)).toBe(cost);
    await expect.poll(async () => nanosOf((await admin.getKey({ name: "keys/interrupted" })).key?.budgetStatus?.spent)).toBe(cost);
  });
});

describe("/v1/messages streamed, with the Anthropic SDK", () => {
  const sdk = () => new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });

  it("ends with the unary answer's usage, cache writes split by lifetime included, said from message_start", async () => {
    await withAnthropic({ cacheReadTokens: 100, cacheCreationTokens: 50, cacheCreation1hTokens: 20 }, async () => {
      const ask = { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user" as const, content: "split my cache writes" }] };
      const unary = await sdk().messages.create(ask);
      const stream = sdk().messages.stream(ask);
      const started = new Promise<Anthropic.Usage>((resolve) => stream.on("streamEvent", (event) => event.type === "message_start" && resolve(event.message.usage)));
      const streamed = await stream.finalMessage();
      expect(unary.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 30, ephemeral_1h_input_tokens: 20 });
      expect(streamed.usage).toEqual(unary.usage);
      // The prompt's counts, as Claude gave them in its own message_start.
      expect(await started).toMatchObject({ input_tokens: unary.usage.input_tokens, cache_read_input_tokens: 100, cache_creation_input_tokens: 50, cache_creation: unary.usage.cache_creation });
    });
  });

  // Review finding 2: a cache hit's message_start carried the cached answer's whole usage, so the SDK (and Claude
  // Code's progress) had the whole output count before any text.
  it("on a cache hit, says in message_start only what a live stream would, and ends with the unary hit's usage", async () => {
    await withAnthropic({ cacheReadTokens: 100, cacheCreationTokens: 50, cacheCreation1hTokens: 20 }, async () => {
      const ask = { model: "claude-sonnet-4-5", max_tokens: 64, temperature: 0, messages: [{ role: "user" as const, content: "answer me from the cache" }] };
      await sdk().messages.create(ask);
      const vendorCalls = world.chatRequests("anthropic").length;
      const { data: unary, response } = await sdk().messages.create(ask).withResponse();
      expect(response.headers.get("x-switchboard-cache")).toBe("hit");
      const stream = sdk().messages.stream(ask);
      // A copy: the SDK's snapshot is message_start's own message, which the later events change.
      const started = new Promise<Anthropic.Usage>((resolve) => stream.on("streamEvent", (event) => event.type === "message_start" && resolve(structuredClone(event.message.usage))));
      const streamed = await stream.finalMessage();
      expect(world.chatRequests("anthropic").length).toBe(vendorCalls);
      expect(unary.usage.output_tokens).toBeGreaterThan(0);
      // The prompt's counts as the hit reports them, the output still to come.
      expect(await started).toEqual({ ...unary.usage, output_tokens: 0 });
      expect(streamed.usage).toEqual(unary.usage);
    });
  });

  it("leaves the split null in message_start when the vendor counts nothing before the end", async () => {
    const stream = sdk().messages.stream({ model: "claude-on-gpt", max_tokens: 64, messages: [{ role: "user", content: "no early usage" }] });
    const started = new Promise<Anthropic.Usage>((resolve) => stream.on("streamEvent", (event) => event.type === "message_start" && resolve(event.message.usage)));
    const streamed = await stream.finalMessage();
    expect((await started).cache_creation).toBeNull();
    // The counts come with message_delta, as before.
    expect(streamed.usage.input_tokens).toBeGreaterThan(0);
    expect(streamed.usage.cache_creation).toBeNull();
  });
});
