// Claude's prompt-cache writes and long prompts, end to end: the Anthropic
// fake reports cache writes of both lifetimes, and a prompt over 200K tokens
// with the 1M-context beta; the caller's answer on /v1/messages says what the
// vendor counted, and the ledger and the key's spend charge what Anthropic
// bills (writes at 1.25× and 2× the input price, the long prompt at the
// long-context tier), not the input price for everything.
import { createClient, type Client } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { gatewayOverAnthropicFake } from "../support/fake-vendor-gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { nanosOf, nanosPerTokenAt } from "../support/money.js";

const claude = gatewayOverAnthropicFake({}, { key_pool: EVERY_CALL_REACHES_THE_VENDOR, ledger: { flush_interval_ms: 50 } });
let admin: Client<typeof AdminService>;
let secret: string;

beforeAll(async () => {
  admin = createClient(AdminService, claude.gw.transport("connect"));
  ({ secret } = await admin.createKey({ keyId: "claude-code", key: { displayName: "Claude Code", budget: { limit: { units: 100n } } } }));
});

function messages(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${claude.gw.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": secret, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** What the ledger charged the key so far, and what its budget says it spent, once both have the call. */
async function charged(expected: number): Promise<void> {
  await expect.poll(async () => nanosOf((await admin.getUsageReport({ key: "keys/claude-code" })).total?.cost)).toBe(expected);
  await expect.poll(async () => nanosOf((await admin.getKey({ name: "keys/claude-code" })).key?.budgetStatus?.spent)).toBe(expected);
}

describe("Claude's cache writes and long prompts", () => {
  it("are reported as the vendor counted them and charged as Anthropic bills them", async () => {
    // 100,000 tokens written to the cache, 60,000 of them for an hour (the system prompt's `ttl: "1h"`).
    claude.fake.options.cacheCreationTokens = 100_000;
    claude.fake.options.cacheCreation1hTokens = 60_000;
    const res = await messages({
      model: "claude-sonnet-4-5",
      max_tokens: 50,
      system: [{ type: "text", text: "big system prompt", cache_control: { type: "ephemeral", ttl: "1h" } }],
      messages: [{ role: "user", content: "cache write test 1" }],
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { usage: Record<string, unknown> };
    // The fake counts words: 3 of system, 4 of message and 3 of framing; "Echo: cache write test 1" is 5.
    expect(answer.usage).toEqual({
      input_tokens: 10,
      cache_creation_input_tokens: 100_000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 40_000, ephemeral_1h_input_tokens: 60_000 },
      output_tokens: 5,
    });
    // claude-sonnet-4-5: in $3, writes $3.75 (5 min) and $6 (1 h), out $15; the input price for all of it would be $0.300105.
    const first = 10 * nanosPerTokenAt(3) + 40_000 * nanosPerTokenAt(3.75) + 60_000 * nanosPerTokenAt(6) + 5 * nanosPerTokenAt(15);
    expect(first).toBe(510_105_000);
    await charged(first);

    // A 250,000-word prompt with the 1M-context beta, streamed, writing 10,000 more tokens (4,000 for an hour): 260,003 prompt tokens, over 200K.
    claude.fake.options.cacheCreationTokens = 10_000;
    claude.fake.options.cacheCreation1hTokens = 4_000;
    const long = await messages(
      { model: "claude-sonnet-4-5", max_tokens: 50, stream: true, messages: [{ role: "user", content: "w ".repeat(250_000) }] },
      { "anthropic-beta": "context-1m-2025-08-07" },
    );
    expect(long.status).toBe(200);
    const delta = (await long.text())
      .split("\n\n")
      .filter((frame) => frame.startsWith("event: message_delta"))
      .map((frame) => JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as { usage: Record<string, unknown> })[0]!;
    // The echo is cut at max_tokens.
    expect(delta.usage).toEqual({
      input_tokens: 250_003,
      cache_creation_input_tokens: 10_000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 6_000, ephemeral_1h_input_tokens: 4_000 },
      output_tokens: 50,
    });
    // Over 200K every token is at the tier's prices: in $6, writes $7.50 and $12, out $22.50.
    const second = 250_003 * nanosPerTokenAt(6) + 6_000 * nanosPerTokenAt(7.5) + 4_000 * nanosPerTokenAt(12) + 50 * nanosPerTokenAt(22.5);
    await charged(first + second);
  });

  it("are told apart in the OpenAI dialect, within prompt_tokens", async () => {
    claude.fake.options.cacheCreationTokens = 1_000;
    claude.fake.options.cacheCreation1hTokens = 0;
    const res = await fetch(`${claude.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: Record<string, any> };
    // 1 word and 3 of framing, plus the 1,000 written.
    expect(usage.prompt_tokens).toBe(1_004);
    expect(usage.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 1_000 });
  });
});
