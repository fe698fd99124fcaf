// Efforts beyond low/medium/high end to end: Codex sends `reasoning.effort:
// "xhigh"` for `model_reasoning_effort = "xhigh"`, which gpt-5.1-codex-max and
// later take and earlier models refuse; GPT-5 takes "minimal". The gateway
// passes an effort the model's catalogue row lists as it is, and fits any
// other to the nearest the model takes, saying so in x-switchboard-adjusted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-openai-vendor", models: ["gpt-5", "gpt-5-codex", "gpt-5.1-codex-max", "o4-mini"] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** A turn as Codex sends it: instructions, message items, streamed, not stored, encrypted reasoning asked back. */
const codexTurn = (model: string, effort: string) => ({
  model,
  instructions: "You are Codex, a coding agent.",
  input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "fix the bug" }] }],
  tools: [],
  tool_choice: "auto",
  parallel_tool_calls: false,
  reasoning: { effort, summary: "auto" },
  store: false,
  stream: true,
  include: ["reasoning.encrypted_content"],
  prompt_cache_key: "codex-session-1",
});

describe("a Codex turn on /v1/responses with reasoning.effort xhigh", () => {
  it("reaches gpt-5.1-codex-max as xhigh, with nothing adjusted", async () => {
    const res = await post("/v1/responses", codexTurn("gpt-5.1-codex-max", "xhigh"));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("response.completed");
    expect(res.headers.get("x-switchboard-adjusted") ?? "").not.toContain("reasoning");
    expect(fake.responsesRequests().at(-1)).toMatchObject({ model: "gpt-5.1-codex-max", reasoning: { effort: "xhigh" } });
  });

  it("reaches gpt-5-codex, which takes no xhigh, as high, and says so", async () => {
    const res = await post("/v1/responses", codexTurn("gpt-5-codex", "xhigh"));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("response.completed");
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning.effort=converted(xhigh->high");
    expect(fake.responsesRequests().at(-1)).toMatchObject({ model: "gpt-5-codex", reasoning: { effort: "high" } });
  });
});

describe("reasoning_effort minimal on /v1/chat/completions", () => {
  it("reaches gpt-5 as minimal", async () => {
    const res = await post("/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "quick" }], reasoning_effort: "minimal" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-adjusted") ?? "").not.toContain("reasoning");
    expect(fake.chatRequests().at(-1)).toMatchObject({ model: "gpt-5", reasoning_effort: "minimal" });
  });

  it("reaches o4-mini, which takes no minimal, as low, and says so", async () => {
    const res = await post("/v1/chat/completions", { model: "o4-mini", messages: [{ role: "user", content: "quick" }], reasoning: { effort: "minimal" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-adjusted")).toContain("reasoning.effort=converted(minimal->low");
    expect(fake.chatRequests().at(-1)).toMatchObject({ model: "o4-mini", reasoning_effort: "low" });
  });

  it("refuses an effort no vendor has, listing those it takes", async () => {
    const res = await post("/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "x" }], reasoning_effort: "ultra" });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('reasoning_effort: must be one of \\"none\\", \\"minimal\\", \\"low\\", \\"medium\\", \\"high\\", \\"xhigh\\", \\"max\\"');
  });
});

describe("the typed API", () => {
  it("sends REASONING_EFFORT_XHIGH to gpt-5.1-codex-max as xhigh, and fits it to high for gpt-5 with an adjustment", async () => {
    const ask = (model: string) => gw.client().chat({ model, messages: [{ role: Role.USER, content: "think hard" }], reasoning: { effort: ReasoningEffort.XHIGH } });
    const max = await ask("gpt-5.1-codex-max");
    expect(max.adjustments.filter((a) => a.parameter.startsWith("reasoning"))).toEqual([]);
    expect(fake.responsesRequests().at(-1)).toMatchObject({ model: "gpt-5.1-codex-max", reasoning: { effort: "xhigh" } });
    const gpt5 = await ask("gpt-5");
    expect(gpt5.adjustments).toEqual([expect.objectContaining({ parameter: "reasoning.effort", requested: "xhigh", sent: "high" })]);
    expect(fake.chatRequests().at(-1)).toMatchObject({ model: "gpt-5", reasoning_effort: "high" });
  });
});

describe("/v1/messages with adaptive thinking and output_config.effort", () => {
  it("reaches gpt-5.1-codex-max as xhigh", async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-5.1-codex-max", max_tokens: 4_000, thinking: { type: "adaptive" }, output_config: { effort: "xhigh" }, messages: [{ role: "user", content: "think" }] }),
    });
    expect(res.status).toBe(200);
    expect(fake.responsesRequests().at(-1)).toMatchObject({ model: "gpt-5.1-codex-max", reasoning: { effort: "xhigh" } });
  });
});
