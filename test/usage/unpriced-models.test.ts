// A key with a budget is never served by a model that has no price: such a
// call would cost 0 and its budget would never limit it. Refused at admission
// (FailedPrecondition, MODEL_UNPRICED) before any vendor is asked, or served
// by a priced candidate of the route when one can serve; a key without a
// budget is served as before, at cost 0.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { TEST_PRICING, startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

// Routed to the fake OpenAI vendor by the `gpt-*` and `text-embedding-*` globs; the catalogue has no row for them.
const UNPRICED = "gpt-9-preview";
const UNPRICED_EMBEDDING = "text-embedding-9";
const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

describe.each<Backend>(["sqlite", "postgres+redis"])("unpriced models and budgets on %s", (backend) => {
  const tag = backend.replace("+", "-");
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld(
      backend,
      {
        // Priced at 0 on purpose: an operator's way to let budgeted keys call a model free.
        pricing: { models: { ...TEST_PRICING!.models, "gpt-9-free": { input: 0, output: 0 } } },
        routes: [{ model: "mixed", provider: "openai", upstream_model: UNPRICED, fallbacks: ["gpt-4o"] }],
      },
      [UNPRICED, "gpt-9-free", UNPRICED_EMBEDDING],
    );
  });
  afterAll(() => world.close());

  const spent = async (keyId: string): Promise<number> => {
    const status = (await world.admin().getKey({ name: `keys/${keyId}` })).key?.budgetStatus;
    return Number(status?.spent?.units ?? 0n) + (status?.spent?.nanos ?? 0) / 1e9;
  };
  const budgeted = async (keyId: string, extra: Record<string, unknown> = {}) =>
    (await world.admin().createKey({ keyId: `${keyId}-${tag}`, key: { displayName: keyId, budget: { limit: { units: 1n } }, ...extra } })).secret;
  const post = (path: string, secret: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const vendorAsked = (model: string) => world.fake.requests.filter((request) => (request.body as { model?: string } | undefined)?.model === model).length;

  it("refuses a budgeted key's call to a model with no price on Connect, before any vendor is asked, however often it is sent", async () => {
    const keyId = `connect-${tag}`;
    const client = world.gw.client("connect", await budgeted("connect"));
    for (let i = 0; i < 5; i++) {
      const err = await failure(client.chat(hi(UNPRICED)));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toContain(`openai/${UNPRICED}, which has no price`);
      expect(err.rawMessage).toContain("pricing.models");
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MODEL_UNPRICED", metadata: { key: keyId, model: UNPRICED, unpriced: `openai/${UNPRICED}` } });
    }
    const streamed = await failure((async () => {
      for await (const _ of client.chatStream(hi(UNPRICED)));
    })());
    expect(streamed.code).toBe(Code.FailedPrecondition);
    const embedded = await failure(client.embed({ model: UNPRICED_EMBEDDING, inputs: ["hi"] }));
    expect(embedded.findDetails(ErrorInfoSchema)[0]?.reason).toBe("MODEL_UNPRICED");
    expect(vendorAsked(UNPRICED) + vendorAsked(UNPRICED_EMBEDDING)).toBe(0);
    expect(await spent(keyId)).toBe(0);
    // The refusals are in the ledger, and counted.
    const metrics = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_budget_refusals_total");
    expect(metrics).toMatch(/switchboard_budget_refusals_total\{stage="unpriced"\} [1-9]/);
    expect(world.gw.logs.entries.some((line) => line.level === "warn" && line.model === UNPRICED && /no price for this model: keys with a budget are refused it/.test(line.msg))).toBe(true);
  });

  it("refuses it on every REST surface in that surface's error shape", async () => {
    const secret = await budgeted("rest");
    const chat = await post("/v1/chat/completions", secret, { model: UNPRICED, messages: [{ role: "user", content: "hi" }] });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: unknown }).error).toMatchObject({ type: "invalid_request_error", code: "model_unpriced" });
    const embeddings = await post("/v1/embeddings", secret, { model: UNPRICED_EMBEDDING, input: "hi" });
    expect(embeddings.status).toBe(400);
    expect(((await embeddings.json()) as { error: unknown }).error).toMatchObject({ code: "model_unpriced" });
    const responses = await post("/v1/responses", secret, { model: UNPRICED, input: "hi", store: false });
    expect(responses.status).toBe(400);
    expect(((await responses.json()) as { error: unknown }).error).toMatchObject({ type: "invalid_request_error", code: "model_unpriced" });
    // Before a stored conversation is looked up, as a scope or a spent budget is.
    const continued = await post("/v1/responses", secret, { model: UNPRICED, input: "hi", previous_response_id: "resp_unknown" });
    expect(((await continued.json()) as { error: unknown }).error).toMatchObject({ code: "model_unpriced" });
    const messages = await post("/v1/messages", secret, { model: UNPRICED, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(messages.status).toBe(400);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(vendorAsked(UNPRICED) + vendorAsked(UNPRICED_EMBEDDING)).toBe(0);
    expect(await spent(`rest-${tag}`)).toBe(0);
  });

  it("serves a budgeted key's call by a priced candidate of the route, leaving out the unpriced one", async () => {
    const keyId = `fallback-${tag}`;
    const secret = await budgeted("fallback", { budget: { limit: { units: 100n } } });
    const answer = await world.gw.client("connect", secret).chat(hi("mixed"));
    expect(answer.model).toBe("gpt-4o");
    expect(answer.attempts.map((attempt) => [attempt.model, attempt.outcome])).toEqual([
      [UNPRICED, "unpriced"],
      ["gpt-4o", "ok"],
    ]);
    expect(vendorAsked(UNPRICED)).toBe(0);
    expect(await spent(keyId)).toBe(6);
  });

  it("does not move a budgeted key to an economy model with no price", async () => {
    const keyId = `economy-${tag}`;
    // $6 a gpt-4o call: past the $3 soft threshold after the first.
    const secret = await budgeted("economy", { budget: { limit: { units: 20n }, softThreshold: 0.15 }, economyModels: [{ model: "gpt-4o", economyModel: UNPRICED }] });
    const client = world.gw.client("connect", secret);
    for (let i = 0; i < 3; i++) expect(await client.chat(hi("gpt-4o"))).toMatchObject({ model: "gpt-4o", downgraded: false });
    expect(vendorAsked(UNPRICED)).toBe(0);
    expect(await spent(keyId)).toBe(18);
  });

  it("serves a model priced at 0 to a budgeted key, and an unpriced one to a key without a budget, at cost 0", async () => {
    const free = world.gw.client("connect", await budgeted("free"));
    expect((await free.chat(hi("gpt-9-free"))).model).toBe("gpt-9-free");
    const { secret } = await world.admin().createKey({ keyId: `unbudgeted-${tag}`, key: { displayName: "no budget" } });
    const open = world.gw.client("connect", secret);
    expect((await open.chat(hi(UNPRICED))).model).toBe(UNPRICED);
    expect((await open.embed({ model: UNPRICED_EMBEDDING, inputs: ["hi"] })).model).toBe(UNPRICED_EMBEDDING);
    const metrics = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_unpriced_calls_total");
    expect(metrics).toMatch(/switchboard_unpriced_calls_total\{provider="openai"\} [1-9]/);
  });
});
