// What an embedding call sent in batches (more texts than the vendor takes in
// one request) is charged when it fails or is cut: the vendor bills every
// request it received, so the call is charged the reported input of the
// batches that answered plus the estimate of each batch whose request went out
// and never answered, and nothing for batches never sent. Cut early or late,
// the charge follows what was sent. A real gateway in front of a fake vendor on
// loopback that holds every batch until the test answers it.
import type { ServerResponse } from "node:http";
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { embedTokens } from "../../src/gateway/usage-estimate.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { nanosOf } from "../support/money.js";

const DOLLAR = 1_000_000_000; // nanos
const BATCH = 10;
/** Eight characters each: the gateway estimates a batch of ten at 20 tokens, the whole 80 at 160. */
const texts = Array.from({ length: 8 * BATCH }, (_, i) => `w${String(i).padStart(3, "0")}text`);
const BATCH_ESTIMATE = embedTokens({ inputs: texts.slice(0, BATCH) }).estimated;
/** What the fake reports for a batch it answers: not the estimate, so that the two can be told apart. */
const REPORTED_PER_TEXT = 3;

interface HeldBatch {
  inputs: string[];
  res: ServerResponse;
}

let vendor: FakeServer;
let held: HeldBatch[] = [];
/** Set: the fake answers each batch as it comes instead of holding it. */
let answering = false;
let gw: TestGateway;
let admin: Client<typeof AdminService>;

beforeAll(async () => {
  vendor = await startFakeServer((req, res) => {
    const batch = { inputs: (req.body as { input: string[] }).input, res };
    if (answering) answer(batch);
    else held.push(batch);
  });
  gw = await startGateway(
    { K1: "sk-one" },
    {
      providers: { batchy: { dialect: "openai", base_url: `${vendor.origin}/v1`, keys: [{ secret: "env:K1", weight: 1 }], embed_batch_size: BATCH } },
      routes: [{ model: "text-embedding-3-small", provider: "batchy" }],
      pricing: { models: { "text-embedding-3-small": { input: 1_000_000, output: 1_000_000 } } },
      traffic: { retry: { base_delay_ms: 1, max_delay_ms: 5, max_attempts: 2, attempts_per_candidate: 2 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      ledger: { flush_interval_ms: 50 },
    },
  );
  admin = createClient(AdminService, gw.transport("connect"));
});
afterAll(async () => {
  await gw?.stop();
  await vendor?.close();
});

/** The batch the vendor holds that starts with text `first`. */
function batchStarting(first: number): HeldBatch {
  const batch = held.find((b) => b.inputs[0] === texts[first]);
  if (!batch) throw new Error(`batch from text ${first} not sent`);
  return batch;
}

function answer(batch: HeldBatch): void {
  const tokens = batch.inputs.length * REPORTED_PER_TEXT;
  sendJson(batch.res, 200, {
    object: "list",
    data: batch.inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] })),
    model: "text-embedding-3-small",
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** Starts an embedding of every text with a new key; `cancel` cuts it as a client hanging up does. */
async function startEmbedding(keyId: string): Promise<{ call: Promise<unknown>; cancel: AbortController }> {
  const { secret } = await admin.createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 1_000n } } } });
  held = [];
  answering = false;
  const cancel = new AbortController();
  const call = gw.client("connect", secret).embed({ model: "text-embedding-3-small", inputs: texts }, { signal: cancel.signal });
  call.catch(() => {});
  return { call, cancel };
}

/** The ledger's input tokens and charge for the key, and its budget's spend, once both have its call. */
async function charged(keyId: string, promptTokens: number): Promise<void> {
  await expect.poll(async () => Number((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.promptTokens)).toBe(promptTokens);
  expect(nanosOf((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.cost)).toBe(promptTokens * DOLLAR);
  await expect.poll(async () => nanosOf((await admin.getKey({ name: `keys/${keyId}` })).key?.budgetStatus?.spent)).toBe(promptTokens * DOLLAR);
}

it("cut after its first batch answered: that batch's reported tokens and the estimate of every batch still out", async () => {
  const { call, cancel } = await startEmbedding("cut-late");
  await expect.poll(() => held.length).toBe(4);
  answer(batchStarting(0));
  // The fifth batch goes out in the first one's place: four are out, unanswered, when the caller hangs up; three were never sent.
  await expect.poll(() => held.length).toBe(5);
  cancel.abort();
  await expect(call).rejects.toThrow(/cancel|abort/i);
  await charged("cut-late", BATCH * REPORTED_PER_TEXT + 4 * BATCH_ESTIMATE);
});

it("cut before any batch answered: the estimate of the batches sent, not of the whole input", async () => {
  const { call, cancel } = await startEmbedding("cut-early");
  await expect.poll(() => held.length).toBe(4);
  cancel.abort();
  await expect(call).rejects.toThrow(/cancel|abort/i);
  await charged("cut-early", 4 * BATCH_ESTIMATE);
});

it("failed by a batch the vendor refused: the batches answered, and those cut with it, not the refused one", async () => {
  const { call } = await startEmbedding("refused");
  await expect.poll(() => held.length).toBe(4);
  answer(batchStarting(0));
  await expect.poll(() => held.length).toBe(5);
  sendJson(batchStarting(BATCH).res, 400, { error: { message: "'$.input' is invalid.", type: "invalid_request_error", param: "input", code: null } });
  await expect(call).rejects.toThrow();
  // Batches 2, 3 and 4 were out when batch 1 was refused, and were cut with it: the vendor had them.
  await charged("refused", BATCH * REPORTED_PER_TEXT + 3 * BATCH_ESTIMATE);
});

it("failed over after a batch failed: the failed attempt's batches answered and cut, besides the answer", async () => {
  const { call } = await startEmbedding("retried");
  await expect.poll(() => held.length).toBe(4);
  answer(batchStarting(0));
  await expect.poll(() => held.length).toBe(5);
  // The retry's batches are answered as they come.
  answering = true;
  sendJson(batchStarting(BATCH).res, 500, { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } });
  await call;
  await charged("retried", texts.length * REPORTED_PER_TEXT + BATCH * REPORTED_PER_TEXT + 3 * BATCH_ESTIMATE);
});
