import type { LedgerRow } from "../../src/usage/ledger-store.js";

/** A usage ledger row the store can keep: a small gpt-4o-mini call, with `overrides` on top. */
export function ledgerRow(overrides: Partial<LedgerRow> = {}): LedgerRow {
  const provider = overrides.provider ?? "openai";
  const model = overrides.servedModel ?? "gpt-4o-mini";
  return {
    atMs: 1_773_000_000_000,
    requestId: "r",
    keyId: "k1",
    team: "t",
    method: "chat",
    provider,
    requestedModel: model,
    servedModel: model,
    promptTokens: 4,
    completionTokens: 2,
    cachedTokens: 0,
    costNanos: 6_000,
    currency: "USD",
    latencyMs: 12,
    status: "ok",
    cacheHit: false,
    downgraded: false,
    attempts: [{ provider, model, outcome: "ok", ms: 12, hedged: false }],
    ...overrides,
  };
}
