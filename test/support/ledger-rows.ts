import type { SqlDatabase } from "../../src/store/sql.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";

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

/** The rows `db`'s usage ledger holds for `requestIds`, asked 500 ids a query (each id is a parameter of its own). */
export async function ledgerRowsFor(db: SqlDatabase, requestIds: string[]): Promise<LedgerRow[]> {
  const ledger = new LedgerStore(db);
  const rows: LedgerRow[] = [];
  for (let at = 0; at < requestIds.length; at += 500) rows.push(...(await ledger.byRequestIds(requestIds.slice(at, at + 500))));
  return rows;
}
