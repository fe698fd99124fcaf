// `/v1/messages/count_tokens` answers the estimate a call's budget and token
// limit are held to (hostile audit 5, finding 1): every field Claude or
// another vendor is sent counts, wherever in the body the caller put its
// text; and (finding 3) a count refused for the key's scope leaves a ledger
// row, as every scope refusal does.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** 100,000 characters: 25,000 tokens at the estimate's four characters a token. */
const TEXT = "word ".repeat(20_000);
const TEXT_TOKENS = TEXT.length / 4;
const TOOL = { name: "t", description: "d", input_schema: { type: "object", properties: {} } };

let anthropic: AnthropicFake;
let gw: TestGateway;
beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor" });
  gw = await startGateway({ ANTHROPIC_API_KEY: "sk-ant-vendor", ANTHROPIC_BASE_URL: anthropic.baseUrl }, { ledger: { flush_interval_ms: 50 } });
});
afterAll(async () => {
  await gw.stop();
  await anthropic.close();
});

const countTokens = (body: Record<string, unknown>, key = MASTER_KEY) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: "POST",
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", ...body }),
  });

async function tokensOf(body: Record<string, unknown>): Promise<number> {
  const res = await countTokens(body);
  const answer = (await res.json()) as { input_tokens: number };
  expect(res.status, JSON.stringify(answer).slice(0, 300)).toBe(200);
  return answer.input_tokens;
}

/** A user turn, an assistant turn of `assistant` blocks, and a user turn again; tools and other fields from `extra`. */
const conversation = (assistant: unknown[], extra: Record<string, unknown> = {}) => ({
  tools: [TOOL],
  messages: [
    { role: "user", content: "q" },
    { role: "assistant", content: assistant },
    { role: "user", content: "q" },
  ],
  ...extra,
});

describe("count_tokens", () => {
  it("counts text the caller put anywhere that is sent on as it counts text in a user turn", async () => {
    const plain = await tokensOf(conversation([{ type: "text", text: "ok" }]));
    const userText = await tokensOf({ ...conversation([{ type: "text", text: "ok" }]), messages: [{ role: "user", content: `q${TEXT}` }, { role: "assistant", content: "ok" }, { role: "user", content: "q" }] });
    expect(userText - plain).toBe(TEXT_TOKENS);

    const placed: Record<string, Record<string, unknown>> = {
      // DeepSeek gets it back as reasoning_content; Claude as the block.
      "an unsigned thinking block": conversation([{ type: "thinking", thinking: TEXT, signature: "" }, { type: "text", text: "ok" }]),
      "a thinking block's signature": conversation([{ type: "thinking", thinking: "", signature: TEXT }, { type: "text", text: "ok" }]),
      "a redacted_thinking block": conversation([{ type: "redacted_thinking", data: TEXT }, { type: "text", text: "ok" }]),
      "a tool's input_examples": conversation([{ type: "text", text: "ok" }], { tools: [{ ...TOOL, input_examples: [{ q: TEXT }] }] }),
      "a block's cache_control": conversation([{ type: "text", text: "ok", cache_control: { type: "ephemeral", x: TEXT } }]),
      "a block's citations": conversation([{ type: "text", text: "ok", citations: [{ type: "char_location", cited_text: TEXT, document_index: 0, start_char_index: 0, end_char_index: 1 }] }]),
      "a system block's cache_control": conversation([{ type: "text", text: "ok" }], { system: [{ type: "text", text: "s", cache_control: { type: "ephemeral", x: TEXT } }] }),
      "a field of the body Claude gets as written": conversation([{ type: "text", text: "ok" }], { context_management: { edits: [{ type: "clear_tool_uses_20250919", note: TEXT }] } }),
      "the JSON schema of output_config": conversation([{ type: "text", text: "ok" }], { output_config: { format: { type: "json_schema", schema: { type: "object", description: TEXT } } } }),
    };
    for (const [where, body] of Object.entries(placed)) {
      expect(await tokensOf(body), where).toBeGreaterThanOrEqual(plain + TEXT_TOKENS);
      // Counted once: a field's name and its JSON's punctuation at most beside the text.
      expect(await tokensOf(body), where).toBeLessThan(plain + TEXT_TOKENS + 50);
    }
  });

  it("refused for the key's scope, leaves a ledger row as every scope refusal does", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({ keyId: "gpt-counter", key: { displayName: "gpt only", allowedModels: ["gpt-4o*"] } });
    const res = await countTokens({ messages: [{ role: "user", content: "q" }] }, secret);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "permission_error" } });
    const report = () => admin.getUsageReport({ key: "keys/gpt-counter", surface: "anthropic_messages" });
    await expect.poll(async () => (await report()).rows.map((row) => ({ requests: row.requests, errors: row.errors })), { timeout: 5_000 }).toEqual([{ requests: 1n, errors: 1n }]);
    expect(anthropic.requests).toHaveLength(0);
  });
});
