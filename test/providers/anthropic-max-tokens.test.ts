// What Anthropic, which requires max_tokens, is sent for a call that sets
// none, as the fake vendor recorded it: the model's longest answer from the
// catalogue (as every other vendor is left to write), else the provider's
// default_max_tokens, and then the call is told (x-switchboard-adjusted on
// REST). The Messages surface takes no call without max_tokens: Anthropic's
// own rule, kept.
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { describe, expect, it } from "vitest";
import { ADJUSTED_HEADER, adjustmentsHeader } from "../../src/catalogue/adjustments.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY, startGateway } from "../support/gateway.js";
import { restChat } from "./rest.js";

const UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789abcdef";
/** A Claude model the catalogue knows no longest answer for. */
const NEW_MODEL = "claude-next-1";
const world = gatewayOverFake(
  () => startAnthropicFake({ apiKey: UPSTREAM_KEY, models: ["claude-sonnet-4-5", "claude-opus-4-1", NEW_MODEL] }),
  (fake) => ({ ANTHROPIC_API_KEY: UPSTREAM_KEY, ANTHROPIC_BASE_URL: fake.baseUrl }),
);
const hello = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hello there" }] });
const lastSent = () => world.fake.messageRequests().at(-1)!;

describe("a call without max_tokens to Claude", () => {
  it("sends the model's longest answer, and says nothing of it", async () => {
    const res = await world.gw.client().chat(hello("claude-sonnet-4-5"));
    expect(lastSent().max_tokens).toBe(64_000);
    expect(res.adjustments).toEqual([]);

    const rest = await restChat(world.gw, { model: "claude-opus-4-1", messages: [{ role: "user", content: "hi" }] });
    expect(rest.status).toBe(200);
    expect(lastSent().max_tokens).toBe(32_000);
    expect(rest.headers.get(ADJUSTED_HEADER)).toBeNull();
  });

  it("sends the caller's max_tokens when it sets one", async () => {
    await world.gw.client().chat({ ...hello("claude-sonnet-4-5"), maxTokens: 50 });
    expect(lastSent().max_tokens).toBe(50);
  });

  it("sends the default (4096) to a model whose longest answer is not known, and says so", async () => {
    const res = await world.gw.client().chat(hello(NEW_MODEL));
    expect(lastSent().max_tokens).toBe(4096);
    expect(adjustmentsHeader(res.adjustments)).toBe("max_tokens=raised(unset->4096)");

    const rest = await restChat(world.gw, { model: NEW_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(rest.headers.get(ADJUSTED_HEADER)).toBe("max_tokens=raised(unset->4096)");
  });

  it("sends the provider's configured default_max_tokens to such a model", async () => {
    const other = await startGateway(
      { ANTHROPIC_KEY_FOR_FILE: UPSTREAM_KEY },
      { providers: { anthropic: { api_key: "env:ANTHROPIC_KEY_FOR_FILE", base_url: world.fake.baseUrl, default_max_tokens: 1000 } } },
    );
    try {
      const res = await other.client().chat(hello(NEW_MODEL));
      expect(lastSent().max_tokens).toBe(1000);
      expect(adjustmentsHeader(res.adjustments)).toBe("max_tokens=raised(unset->1000)");
      // A model the catalogue knows still gets its longest answer.
      await other.client().chat(hello("claude-sonnet-4-5"));
      expect(lastSent().max_tokens).toBe(64_000);
    } finally {
      await other.stop();
    }
  });

  it("keeps max_tokens above the thinking budget, which the fake holds it to as Anthropic does", async () => {
    const thinking = await world.gw.client().chat({ ...hello("claude-sonnet-4-5"), reasoning: { effort: ReasoningEffort.HIGH } });
    expect(lastSent()).toMatchObject({ max_tokens: 64_000, thinking: { type: "enabled", budget_tokens: 24_576 } });
    expect(thinking.message?.reasoningContent).not.toBe("");

    const unknown = await world.gw.client().chat({ ...hello(NEW_MODEL), reasoning: { effort: ReasoningEffort.HIGH } });
    expect(lastSent()).toMatchObject({ max_tokens: 24_576 + 4096, thinking: { type: "enabled", budget_tokens: 24_576 } });
    expect(adjustmentsHeader(unknown.adjustments)).toContain("max_tokens=raised(unset->28672)");
  });
});

describe("the Messages surface", () => {
  const messages = (body: Record<string, unknown>) =>
    fetch(`${world.gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": MASTER_KEY, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify(body) });

  it("refuses a call without max_tokens, as Anthropic does, and sends the caller's own", async () => {
    const before = world.fake.messageRequests().length;
    const refused = await messages({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") } });
    expect(world.fake.messageRequests().length).toBe(before);

    const sent = await messages({ model: "claude-sonnet-4-5", max_tokens: 77, messages: [{ role: "user", content: "hi" }] });
    expect(sent.status).toBe(200);
    expect(lastSent().max_tokens).toBe(77);
  });
});
