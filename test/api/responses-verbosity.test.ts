// GPT-5's verbosity, as each surface names it (`text.verbosity` on
// /v1/responses, top-level `verbosity` on /v1/chat/completions), reaches the
// vendor said as its API says it: top-level on OpenAI's Chat Completions,
// `text.verbosity` on OpenAI's Responses API (gpt-5-codex). A vendor of
// another dialect has no such setting: it is dropped, and said to be in
// x-switchboard-adjusted, as any other Chat Completions field it lacks.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

const GPT5 = "gpt-5";
const CODEX = "gpt-5-codex";

let world: ThreeVendors;

beforeAll(async () => {
  world = await startThreeVendors({ openai: { models: ["gpt-4o-mini", GPT5, CODEX] }, file: { traffic: { retry: { max_attempts: 1 } } } });
});
afterAll(async () => {
  await world?.stop();
});

const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });

/** The same call on each surface, asking for terse answers as that surface names it. */
const SURFACES = {
  responses: (model: string, extra: Record<string, unknown> = {}) => post("/v1/responses", { model, input: "hi", text: { verbosity: "low" }, ...extra }),
  chat: (model: string, extra: Record<string, unknown> = {}) => post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }], verbosity: "low", ...extra }),
};

describe.each(Object.entries(SURFACES))("verbosity from the %s surface", (_surface, call) => {
  it("goes to OpenAI's Chat Completions as its top-level verbosity", async () => {
    const res = await call(GPT5);
    expect(res.status).toBe(200);
    const sent = world.openai.chatRequests().at(-1)!;
    expect(sent.model).toBe(GPT5);
    expect(sent.verbosity).toBe("low");
    expect(sent).not.toHaveProperty("text");
    expect(res.headers.get("x-switchboard-adjusted")).toBeNull();
  });

  it("goes to OpenAI's Responses API as text.verbosity, streamed as Codex calls", async () => {
    const res = await call(CODEX, { stream: true });
    expect(res.status).toBe(200);
    await res.text();
    const sent = world.openai.responsesRequests().at(-1)!;
    expect(sent.model).toBe(CODEX);
    expect(sent.text).toMatchObject({ verbosity: "low" });
    expect(sent).not.toHaveProperty("verbosity");
  });

  it.each([
    ["anthropic", "claude-sonnet-4-5"],
    ["dashscope", "qwen-plus"],
  ] as const)("is dropped for %s, and said to be", async (vendor, model) => {
    const res = await call(model);
    expect(res.status).toBe(200);
    const sent = world.chatRequests(vendor).at(-1)!;
    expect(JSON.stringify(sent)).not.toContain("verbosity");
    expect(res.headers.get("x-switchboard-adjusted")).toContain(`verbosity=dropped(GPT-5's verbosity: ${model} has no such setting)`);
  });
});

describe("on /v1/responses", () => {
  it("text.verbosity is still repeated in the Response", async () => {
    const res = await SURFACES.responses(GPT5);
    expect(((await res.json()) as { text: unknown }).text).toEqual({ format: { type: "text" }, verbosity: "low" });
  });

  it("Chat Completions' top-level verbosity is refused naming text.verbosity, and reaches no vendor", async () => {
    const before = world.openai.chatRequests().length;
    const res = await post("/v1/responses", { model: GPT5, input: "hi", verbosity: "low" });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe("verbosity");
    expect(error.message).toContain("send text.verbosity");
    expect(world.openai.chatRequests().length).toBe(before);
  });
});
