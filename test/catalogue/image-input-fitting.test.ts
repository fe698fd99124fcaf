// Images to a model the catalogue knows takes none (docs/models.md lists no
// "images" for it) are refused before any vendor is asked, naming the
// caller's image part and the model, so that a route's fallback that sees
// images serves the call (audit translate #8). A model that takes images,
// and one nothing is known of, get them as before.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";

const catalogue = Catalogue.shipped();
const IMAGE = { part: { case: "imageUrl" as const, value: { url: "https://example.com/cat.png" } } };
const TEXT = { part: { case: "text" as const, value: "what is this?" } };

function fit(provider: string, model: string, messages: Record<string, unknown>[]) {
  const params = create(ChatRequestSchema, { model, messages });
  return fitChatRequest(params, catalogue.lookup(provider, model), "degrade", { model });
}

const withImage = [
  { role: Role.SYSTEM, content: "be brief" },
  { role: Role.USER, parts: [TEXT, IMAGE] },
];

describe("image input", () => {
  it.each([
    ["deepseek", "deepseek-chat"],
    ["moonshot", "moonshot-v1-8k"],
    ["zhipu", "glm-4-plus"],
    ["openai", "gpt-3.5-turbo"],
  ])("%s %s takes none: refused, naming the caller's image part and the model", (provider, model) => {
    expect(fit(provider, model, withImage)).toEqual({ ok: false, field: "messages[1].parts[1]", reason: `${model} takes no image input` });
  });

  it.each([
    ["openai", "gpt-4o-mini"],
    ["anthropic", "claude-sonnet-4-5"],
    ["gemini", "gemini-2.5-flash"],
  ])("%s %s takes images: sent", (provider, model) => {
    expect(fit(provider, model, withImage).ok).toBe(true);
  });

  it("a model nothing is known of gets them, as before", () => {
    expect(fitChatRequest(create(ChatRequestSchema, { model: "ft-house-model", messages: withImage }), undefined, "degrade").ok).toBe(true);
  });

  it("a model only its vendor's defaults describe (a fine-tune, a model newer than the catalogue) gets them", () => {
    expect(fit("openai", "ft:gpt-4o-mini:acme::abc123", withImage).ok).toBe(true);
    expect(fit("deepseek", "deepseek-vl-next", withImage).ok).toBe(true);
  });

  it("a text-only model without images in the request is served", () => {
    expect(fit("deepseek", "deepseek-chat", [{ role: Role.USER, parts: [TEXT] }]).ok).toBe(true);
  });
});
