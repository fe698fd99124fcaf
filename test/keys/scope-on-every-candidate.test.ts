// A key is served only models its scope allows, judged on what is actually
// called: a route's fallbacks, the key's economy model and an alias's target
// are checked like the first candidate, and one outside the scope is never called.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import type { Scripted } from "../fakes/fake-server.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { PROTOCOLS, startGateway, type TestGateway } from "../support/gateway.js";
import { TEST_PRICING } from "../support/usage-setup.js";

const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });
const outage = (): Scripted => ({ kind: "error", status: 503, body: { error: { message: "overloaded", type: "server_error" } } });

describe("a key's scope on every candidate", () => {
  let openai: OpenAIFake;
  let anthropic: AnthropicFake;
  let gw: TestGateway;
  let scoped: string;

  beforeAll(async () => {
    openai = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o", "gpt-4o-mini"] });
    anthropic = await startAnthropicFake({ apiKey: "sk-ant-up", models: ["claude-3-5-haiku-latest"] });
    gw = await startGateway(
      { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_API_KEY: "sk-ant-up", ANTHROPIC_BASE_URL: anthropic.baseUrl },
      {
        pricing: TEST_PRICING,
        // Two attempts a call, one per candidate while another is left: each outage below is used up by exactly one call.
        traffic: { breaker: { enabled: false }, retry: { max_attempts: 2, attempts_per_candidate: 1, base_delay_ms: 1, max_delay_ms: 1 }, retry_budget: { min_retries: 1_000 } },
        routes: [
          { model: "gpt-4o", provider: "openai", fallbacks: ["claude-3-5-haiku-latest"] },
          // An alias whose name looks like the scope's glob but whose target is another vendor's model.
          { model: "gpt-4o-fast", provider: "anthropic", upstream_model: "claude-3-5-haiku-latest" },
        ],
      },
    );
    const admin = createClient(AdminService, gw.transport("connect"));
    scoped = (await admin.createKey({ keyId: "gpt-only", key: { displayName: "gpt only", allowedModels: ["gpt-4o*"] } })).secret;
  });
  afterAll(async () => {
    await gw.stop();
    await openai.close();
    await anthropic.close();
  });

  it.each(PROTOCOLS)("never fails over to a fallback outside the scope (%s)", async (protocol) => {
    const before = anthropic.requests.length;
    openai.enqueue(outage(), outage());
    const err = await failure(gw.client(protocol, scoped).chat(hi("gpt-4o")));
    expect(err.code).not.toBe(0);
    expect(anthropic.requests.length).toBe(before);
    // Within the scope the route still serves as usual, and says what it left out.
    const answer = await gw.client(protocol, scoped).chat(hi("gpt-4o"));
    expect(answer.provider).toBe("openai");
    expect(answer.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(["anthropic:not_allowed", "openai:ok"]);
  });

  it("never fails over outside the scope on the REST surface either", async () => {
    const before = anthropic.requests.length;
    openai.enqueue(outage(), outage());
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${scoped}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(503);
    expect(anthropic.requests.length).toBe(before);
  });

  it("lets a key whose scope allows the fallback fail over to it", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const both = (await admin.createKey({ key: { displayName: "both", allowedModels: ["gpt-4o*", "anthropic/*"] } })).secret;
    openai.enqueue(outage());
    const answer = await gw.client("connect", both).chat(hi("gpt-4o"));
    expect(answer.provider).toBe("anthropic");
  });

  it("refuses an alias whose target is outside the scope, however its name reads", async () => {
    const before = anthropic.requests.length;
    const err = await failure(gw.client("grpc", scoped).chat(hi("gpt-4o-fast")));
    expect(err.code).toBe(7); // PermissionDenied
    expect(err.rawMessage).toContain('may not use model "gpt-4o-fast": it would be served by anthropic/claude-3-5-haiku-latest');
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MODEL_NOT_ALLOWED", metadata: { called: "anthropic/claude-3-5-haiku-latest" } });
    expect(anthropic.requests.length).toBe(before);
    // ...and does not list it.
    const listed = (await gw.client("connect", scoped).listModels({})).models.map((m) => m.id);
    expect(listed).not.toContain("gpt-4o-fast");
  });

  it("never serves the key's own economy model when it lies outside the scope", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret } = await admin.createKey({
      key: {
        displayName: "economy outside",
        allowedModels: ["gpt-4o*"],
        // $6 a call against $10 with the soft threshold at 10%: the second call is past it.
        budget: { limit: { units: 10n }, softThreshold: 0.1 },
        economyModels: [{ model: "gpt-4o", economyModel: "claude-3-5-haiku-latest" }],
      },
    });
    const before = anthropic.requests.length;
    const client = gw.client("connect", secret);
    expect((await client.chat(hi("gpt-4o"))).model).toBe("gpt-4o");
    const second = await client.chat(hi("gpt-4o"));
    expect(second).toMatchObject({ provider: "openai", model: "gpt-4o", downgraded: false });
    expect(anthropic.requests.length).toBe(before);
  });
});
