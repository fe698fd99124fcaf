// max_tokens for Anthropic, which requires one, when the caller sets none:
// the model's longest answer as the catalogue knows it (what an unset
// max_tokens means at every other vendor, and what the budget reserves),
// else the provider's default_max_tokens, reported; and room for a thinking
// budget either way (Anthropic refuses max_tokens at or below budget_tokens).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { adjustmentsHeader } from "../../src/catalogue/adjustments.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { RequestFitter } from "../../src/gateway/call-fitting.js";
import type { ProviderRuntime } from "../../src/gateway/provider-runtime.js";
import type { Router } from "../../src/gateway/router.js";
import { promptBoundTokens } from "../../src/gateway/usage-estimate.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import type { ChatParams } from "../../src/providers/provider.js";

const catalogue = Catalogue.shipped();
const request = (model: string, fields: Record<string, unknown> = {}): ChatParams => create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }], ...fields });
const effort = (value: ReasoningEffort) => ({ reasoning: { effort: value } });

/** The gateway's fitter over the shipped catalogue, with one Anthropic provider as the codec configures it. */
function fitterFor(defaultMaxTokens?: number): RequestFitter {
  const codec = createAnthropicCodec({ provider: "anthropic", defaultMaxTokens });
  const runtime = { adapter: { dialect: codec.dialect, defaultMaxTokens: codec.defaultMaxTokens } } as unknown as ProviderRuntime;
  return new RequestFitter({ catalogue, providers: new Map([["anthropic", runtime]]), router: { route: () => undefined } as unknown as Router, whenUnsupported: "degrade" });
}

/** What Anthropic is sent for `model`, what the call is told, and what its budget reserves for the answer. */
function sent(model: string, fields: Record<string, unknown> = {}, defaultMaxTokens?: number) {
  const params = request(model, fields);
  const call = fitterFor(defaultMaxTokens).forCall(params);
  const candidate = { provider: "anthropic", upstreamModel: model };
  const fitted = call.request("anthropic", model).params;
  return {
    maxTokens: fitted.maxTokens,
    budgetTokens: fitted.reasoning?.budgetTokens,
    told: adjustmentsHeader(call.adjustments(candidate)),
    reserved: call.boundTokens(candidate) - promptBoundTokens(params),
  };
}

describe("an unset max_tokens over Anthropic", () => {
  it.each([
    ["claude-sonnet-4-5", 64_000],
    ["claude-opus-4-1", 32_000],
    ["claude-opus-4-7", 128_000],
    ["claude-3-opus", 4_096],
  ])("is %s's longest answer (%i), the number its budget reserves, and nothing is said", (model, longest) => {
    expect(sent(model)).toEqual({ maxTokens: longest, budgetTokens: undefined, told: "", reserved: longest });
  });

  it("is the caller's own max_tokens when set, and the configured default changes nothing for a known model", () => {
    expect(sent("claude-sonnet-4-5", { maxTokens: 300 })).toMatchObject({ maxTokens: 300, told: "", reserved: 300 });
    expect(sent("claude-sonnet-4-5", {}, 1000)).toMatchObject({ maxTokens: 64_000, told: "" });
  });

  it("is the provider's default_max_tokens for a model whose longest answer the catalogue does not know, and the call is told", () => {
    expect(sent("claude-next-1")).toEqual({ maxTokens: 4096, budgetTokens: undefined, told: "max_tokens=raised(unset->4096)", reserved: 4096 });
    expect(sent("claude-next-1", {}, 1000)).toMatchObject({ maxTokens: 1000, told: "max_tokens=raised(unset->1000)", reserved: 1000 });
    expect(sent("claude-next-1", { maxTokens: 300 })).toMatchObject({ maxTokens: 300, told: "" });
  });

  it("is the default for a model no catalogue row describes at all, the fitter told of it by the codec", () => {
    const fitted = fitChatRequest(request("my-claude"), undefined, "degrade", { model: "my-claude", dialect: "anthropic", defaultMaxTokens: createAnthropicCodec({ provider: "p" }).defaultMaxTokens });
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.params.maxTokens).toBe(4096);
    expect(adjustmentsHeader(fitted.adjustments)).toBe("max_tokens=raised(unset->4096)");
  });

  it("stays unset where the dialect requires none", () => {
    const fitted = fitChatRequest(request("claude-sonnet-4-5"), catalogue.lookup("anthropic", "claude-sonnet-4-5", "openai"), "degrade", { model: "claude-sonnet-4-5", dialect: "openai" });
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.params.maxTokens).toBeUndefined();
    expect(fitted.adjustments).toEqual([]);
  });
});

describe("an unset max_tokens over Anthropic while thinking", () => {
  it("is still the model's longest answer, above the thinking budget, so the answer keeps the room it has without thinking", () => {
    expect(sent("claude-sonnet-4-5", effort(ReasoningEffort.HIGH))).toEqual({
      maxTokens: 64_000,
      budgetTokens: 24_576,
      told: "reasoning.effort=converted(high->budget_tokens 24576)",
      reserved: 64_000,
    });
  });

  it("has a budget at or above the model's longest answer cut below it", () => {
    expect(sent("claude-opus-4-1", { reasoning: { budgetTokens: 40_000 } })).toMatchObject({ maxTokens: 32_000, budgetTokens: 31_999, told: expect.stringContaining("reasoning.budget_tokens=clamped(40000->31999)") });
  });

  it("makes room for the budget and the answer where the longest answer is not known, however small the default", () => {
    expect(sent("claude-next-1", effort(ReasoningEffort.HIGH))).toMatchObject({ maxTokens: 24_576 + 4096, budgetTokens: 24_576, told: expect.stringContaining("max_tokens=raised(unset->28672)"), reserved: 28_672 });
    expect(sent("claude-next-1", effort(ReasoningEffort.LOW), 1000)).toMatchObject({ maxTokens: 2048 + 4096, budgetTokens: 2048 });
    const fitted = fitChatRequest(request("my-claude", effort(ReasoningEffort.HIGH)), undefined, "degrade", { model: "my-claude", dialect: "anthropic", defaultMaxTokens: 4096 });
    expect(fitted).toMatchObject({ ok: true, params: { maxTokens: 24_576 + 4096 } });
  });
});
