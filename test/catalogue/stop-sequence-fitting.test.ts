// How many stop sequences each vendor's models take, from the shipped
// catalogue: more is refused naming the caller's field and the model, counted
// after the rules (a model that refuses stop has it dropped, however many).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";

const catalogue = Catalogue.shipped();
const stops = (n: number) => Array.from({ length: n }, (_, i) => `S${i}`);

function fit(provider: string, model: string, n: number, fieldNames?: { stop: string }) {
  const params = Object.assign(create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }], stop: stops(n) }), { fieldNames });
  return fitChatRequest(params, catalogue.lookup(provider, model), "degrade");
}

describe("stop sequences a model takes", () => {
  it.each([
    ["openai", "gpt-4o", 4],
    ["gemini", "gemini-2.5-flash", 5],
    ["deepseek", "deepseek-chat", 16],
    ["moonshot", "moonshot-v1-8k", 5],
    ["zhipu", "glm-4.5", 1],
    ["qianfan", "ernie-4.0-8k", 4],
  ])("%s %s: %i, and one more is the caller's to fix", (provider, model, most) => {
    expect(fit(provider, model, most).ok).toBe(true);
    expect(fit(provider, model, most + 1)).toEqual({ ok: false, field: "stop", reason: `${model} takes at most ${most} stop sequences, got ${most + 1}` });
  });

  it("Claude names no limit", () => {
    expect(fit("anthropic", "claude-sonnet-4-5", 40).ok).toBe(true);
  });

  it("names the caller's own field", () => {
    expect(fit("openai", "gpt-4o", 6, { stop: "stop_sequences" })).toMatchObject({ ok: false, field: "stop_sequences" });
  });

  it("a model that refuses stop has them dropped, however many", () => {
    const fitted = fit("openai", "o3", 9);
    expect(fitted.ok && fitted.params.stop).toEqual([]);
  });
});
