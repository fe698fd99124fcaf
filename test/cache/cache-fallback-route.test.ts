// A call whose route's own model cannot take it (request fitting skips it) is
// answered by the route's fallback, and the answer is kept under that route's
// cache settings. With a fallback of another provider, the cache used to look
// for a route of the requested name on the fallback's provider, found none,
// and kept the answer under the gateway-wide defaults: a `mode: off` route's
// answers were cached, and a `share: key` route's were shared by every caller
// when the defaults said `share: route` (audit "cache", fallback routes).
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const CLAUDE = "claude-3-5-haiku-latest";
// gpt-3.5-turbo takes no JSON schema, and these routes refuse what their model cannot take: Claude answers instead.
const refusing = (model: string, cache: Record<string, unknown>) => ({
  model,
  provider: "openai",
  upstream_model: "gpt-3.5-turbo",
  when_unsupported: "refuse" as const,
  cache,
  fallbacks: [`anthropic/${CLAUDE}`],
});
const jsonQuestion = (model: string, content: string) => ({
  model,
  messages: [{ role: "user", content }],
  temperature: 0,
  response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "string" } } } } },
});

describe("a route's cache settings when a fallback of another provider answers", () => {
  let openai: OpenAIFake;
  let anthropic: AnthropicFake;
  let gw: TestGateway;
  beforeAll(async () => {
    openai = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-3.5-turbo"] });
    anthropic = await startAnthropicFake({ apiKey: "sk-ant", models: [CLAUDE], toolCall: () => undefined });
    gw = await startGateway(
      { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_API_KEY: "sk-ant", ANTHROPIC_BASE_URL: anthropic.baseUrl },
      {
        // Routes without settings of their own share their answers with every caller.
        cache: { share: "route" },
        routes: [refusing("private-bot", { share: "key" }), refusing("uncached-bot", { mode: "off" })],
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  const ask = async (key: string, body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as { model: string };
    return { status: res.status, cache: res.headers.get("x-switchboard-cache"), model: answer.model };
  };

  it("keeps a share: key route's answers in the asking key's partition", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const [alice, bob] = await Promise.all([admin.createKey({ key: { displayName: "alice" } }), admin.createKey({ key: { displayName: "bob" } })]);
    const question = jsonQuestion("private-bot", "What is in alice's private notes?");
    expect(await ask(alice.secret, question)).toEqual({ status: 200, cache: "miss", model: CLAUDE });
    expect(await ask(alice.secret, question)).toMatchObject({ status: 200, cache: "hit" });
    // Another key is not served alice's answer.
    expect(await ask(bob.secret, question)).toMatchObject({ status: 200, cache: "miss" });
  });

  it("caches nothing for a mode: off route", async () => {
    const calls = anthropic.messageRequests().length;
    const question = jsonQuestion("uncached-bot", "Never keep this answer");
    for (let i = 0; i < 2; i++) expect(await ask(MASTER_KEY, question)).toEqual({ status: 200, cache: "miss", model: CLAUDE });
    expect(anthropic.messageRequests().length).toBe(calls + 2);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_cache_bypassed_total\{reason="mode_off"\} 2/);
  });
});
