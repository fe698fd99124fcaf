import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { BoundedLabel, OTHER } from "../../src/observability/bounded-labels.js";
import { knownModelNames } from "../../src/observability/known-models.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";

// Audit 17/10, finding 3: a key that calls 200 names a vendor serves took every `model` place for good.
const servedNames = (count: number) => Array.from({ length: count }, () => `m-${randomBytes(6).toString("hex")}`);

const config = {
  providers: [{ name: "openai" }, { name: "together" }],
  routes: [
    { model: "support-bot", provider: "openai", upstreamModel: "ft:gpt-4o-mini:acme" },
    { model: "gpt-*", provider: "openai" },
    { model: "llama", provider: "together", upstreamModel: "meta-llama/Llama-3-70b", fallbacks: ["openai/backup-model"] },
  ],
  usage: { pricing: { models: { "openai/priced-model": {}, "local-model": {}, "mistral-*": {} } } },
};

describe("model labels of the models the gateway knows", () => {
  it("keeps a known model's label after callers filled every other place", () => {
    const models = new BoundedLabel(200, ["gpt-4o"]);
    const flood = servedNames(250);
    const labels = flood.map((name) => models.of(name));
    expect(labels.filter((label) => label !== OTHER)).toHaveLength(200);
    expect(models.of("gpt-4o")).toBe("gpt-4o");
    expect(models.known("gpt-4o")).toBe("gpt-4o");
    expect(models.of("m-never-seen")).toBe(OTHER);
    expect(models.of(flood[0]!)).toBe(flood[0]);
  });

  it("knows the catalogue's models and snapshots, the routes' names, targets and fallbacks, and the priced models, without globs", () => {
    const known = knownModelNames(config, Catalogue.shipped());
    for (const name of ["gpt-4o", "gpt-4o-2024-08-06", "support-bot", "ft:gpt-4o-mini:acme", "llama", "meta-llama/Llama-3-70b", "backup-model", "priced-model", "local-model"]) {
      expect(known, name).toContain(name);
    }
    expect([...known].filter((name) => name.includes("*"))).toEqual([]);
    // A slash inside a vendor's model name is not a provider prefix.
    expect(known).not.toContain("Llama-3-70b");
  });

  it("counts a known model's tokens, cost and time to first token under its own label after 250 served names", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false, knownModels: knownModelNames(config, Catalogue.shipped()) });
    const usage = (model: string) => ({ provider: "openai", model, keyId: "k", team: "", currency: "USD", promptTokens: 10, completionTokens: 5, cachedTokens: 0, cost: 0.01 });
    for (const name of servedNames(250)) metrics.recordUsage(usage(name));
    for (const model of ["gpt-4o", "ft:gpt-4o-mini:acme", "priced-model"]) {
      metrics.recordUsage(usage(model));
      metrics.recordFirstToken("openai", model, 0.2);
      expect(metrics.modelLabel(model)).toBe(model);
    }
    const text = await metrics.registry.metrics();
    expect(text).toContain('switchboard_cost_total{provider="openai",model="gpt-4o",currency="USD"} 0.01');
    expect(text).toContain('switchboard_time_to_first_token_seconds_count{provider="openai",model="gpt-4o"} 1');
    expect(text).toMatch(/switchboard_tokens_total\{provider="openai",model="ft:gpt-4o-mini:acme",kind="prompt"\} 10/);
    // The unknown names stay bounded: 200 of their own, the rest under "other".
    expect(metrics.modelLabel("m-never-seen")).toBe(OTHER);
  });
});
