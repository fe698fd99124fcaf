// What journaling a ledger row costs on the request path: µs per append, for
// the journal alone and for the ledger's whole append (journal + queue), next
// to the queue alone. Usage: `npx tsx bench/ledger-journal.ts`
// (BENCH_APPENDS=200000; BENCH_JOURNAL_DIR=/some/disk to measure another file system).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/observability/logger.js";
import { GatewayMetrics } from "../src/observability/metrics.js";
import { LedgerJournal } from "../src/usage/ledger-journal.js";
import type { LedgerRow } from "../src/usage/ledger-store.js";
import { UsageLedger, type LedgerSink } from "../src/usage/usage-ledger.js";

const APPENDS = Number(process.env.BENCH_APPENDS ?? 200_000);
// Rows between two flushes, as under load with the default 500-row batches.
const BATCH = 500;
const logger = createLogger("silent");

/** A chat call's row as the gateway writes it: one failover, so two attempts. */
function row(i: number): LedgerRow {
  return {
    atMs: Date.now(),
    requestId: `0f8e2d7c-5b1a-4c39-9e6d-${String(i).padStart(12, "0")}`,
    keyId: "key-3f9a1c2b",
    team: "payments",
    method: "chat",
    provider: "openai",
    requestedModel: "gpt-4o-mini",
    servedModel: "gpt-4o-mini-2024-07-18",
    promptTokens: 412,
    completionTokens: 128,
    cachedTokens: 0,
    costNanos: 138_600,
    currency: "USD",
    latencyMs: 842,
    status: "ok",
    cacheHit: false,
    downgraded: false,
    attempts: [
      { provider: "openai", model: "gpt-4o-mini-2024-07-18", outcome: "overloaded", ms: 211, hedged: false },
      { provider: "openai", model: "gpt-4o-mini-2024-07-18", outcome: "ok", ms: 631, hedged: false },
    ],
  };
}

/** Times `append` call by call (the flushes in between are not timed); µs per call. */
async function measure(append: (row: LedgerRow) => void, flush: () => Promise<void>): Promise<{ mean: number; p50: number; p99: number; max: number }> {
  const rows = Array.from({ length: APPENDS }, (_, i) => row(i));
  const samples = new Float64Array(APPENDS);
  let total = 0;
  for (let i = 0; i < APPENDS; i++) {
    const started = process.hrtime.bigint();
    append(rows[i]!);
    const ns = Number(process.hrtime.bigint() - started);
    samples[i] = ns;
    total += ns;
    if ((i + 1) % BATCH === 0) await flush();
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(APPENDS - 1, Math.floor(q * APPENDS))]! / 1000;
  return { mean: total / APPENDS / 1000, p50: at(0.5), p99: at(0.99), max: samples[APPENDS - 1]! / 1000 };
}

const instantStore: LedgerSink = { insert: async (rows) => rows.length, probe: async () => {} };

function ledger(journal?: LedgerJournal): UsageLedger {
  // A flush interval beyond the run: rows reach the store only through the flushes `measure` makes.
  return new UsageLedger(instantStore, { flushIntervalMs: 3_600_000, batchSize: 1_000_000, journal, logger, metrics: new GatewayMetrics({ defaultMetrics: false }) });
}

const base = process.env.BENCH_JOURNAL_DIR ?? tmpdir();
const dir = mkdtempSync(join(base, "sb-journal-bench-"));
const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
try {
  // Warm-up: JIT, page cache.
  const warm = LedgerJournal.open(join(dir, "warm"), { logger });
  for (let i = 0; i < 20_000; i++) warm.done(warm.append(row(i)));
  warm.close();

  let bytes = 0;
  results["JSON.stringify alone"] = await measure(
    (r) => {
      bytes += JSON.stringify(r).length;
    },
    async () => {},
  );
  if (bytes === 0) throw new Error("unreachable: keeps the stringify from being optimised away");

  const journal = LedgerJournal.open(join(dir, "journal"), { logger });
  let segment = 0;
  let pending = 0;
  results["journal.append (stringify + one write)"] = await measure(
    (r) => {
      segment = journal.append({ ...r, rowKey: "7d1f6c2e-9a4b-4e0f-8c3d-5b2a1e9f0d47" });
      pending++;
    },
    async () => {
      journal.done(segment, pending);
      pending = 0;
    },
  );
  journal.close();

  const queueOnly = ledger();
  results["ledger.append, no journal"] = await measure((r) => queueOnly.append(r), () => queueOnly.flush());
  await queueOnly.close();

  const journaled = ledger(LedgerJournal.open(join(dir, "ledger"), { logger }));
  results["ledger.append, journal + queue"] = await measure((r) => journaled.append(r), () => journaled.flush());
  await journaled.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`${APPENDS} appends of a ${Buffer.byteLength(JSON.stringify(row(0))) + 50}-byte row, journal in ${base} (Node ${process.version})`);
console.log("µs per append                          mean     p50     p99      max");
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(38)} ${r.mean.toFixed(2).padStart(6)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${r.max.toFixed(0).padStart(7)}`);
}
