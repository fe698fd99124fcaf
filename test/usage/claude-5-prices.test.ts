// Claude Code's default model (claude-opus-5-5, for the pinned 2.1.332) has a
// price: a key with a budget is served it on its first request, not refused
// MODEL_UNPRICED, and the call is charged at Opus 5.5's $4 / $20 per million
// tokens (https://platform.claude.com/docs/en/models/opus-5-5/overview).
import { createClient, type Client } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { gatewayOverAnthropicFake } from "../support/fake-vendor-gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { nanosOf, nanosPerTokenAt } from "../support/money.js";

const MODEL = "claude-opus-5-5";
const claude = gatewayOverAnthropicFake({ models: [MODEL] }, { key_pool: EVERY_CALL_REACHES_THE_VENDOR, ledger: { flush_interval_ms: 50 } });
let admin: Client<typeof AdminService>;
let secret: string;

beforeAll(async () => {
  admin = createClient(AdminService, claude.gw.transport("connect"));
  ({ secret } = await admin.createKey({ keyId: "cc-budget", key: { displayName: "Claude Code", budget: { limit: { units: 50n } } } }));
});

describe("a budgeted key on Claude Code's default model", () => {
  it("is served claude-opus-5-5 and charged at its price", async () => {
    const res = await fetch(`${claude.gw.url}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, max_tokens: 200, messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const answer = (await res.json()) as { usage: { input_tokens: number; output_tokens: number } };
    // It always thinks: the vendor was asked for adaptive thinking, not refused with "disabled".
    expect(claude.fake.messageRequests().at(-1)?.thinking).toEqual({ type: "adaptive", display: "summarized" });
    const expected = answer.usage.input_tokens * nanosPerTokenAt(4) + answer.usage.output_tokens * nanosPerTokenAt(20);
    expect(expected).toBeGreaterThan(0);
    await expect.poll(async () => nanosOf((await admin.getUsageReport({ key: "keys/cc-budget" })).total?.cost)).toBe(expected);
    await expect.poll(async () => nanosOf((await admin.getKey({ name: "keys/cc-budget" })).key?.budgetStatus?.spent)).toBe(expected);
  });
});
