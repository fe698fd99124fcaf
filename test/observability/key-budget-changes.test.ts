// The budget gauges (and the SwitchboardBudgetNearlySpent alert on them) kept a key's old limit after UpdateKey
// raised it, and a revoked key's figures, until the budget's period ended. A key change now drops the key's series
// on every instance (at once on the one that made it, through the store's change log on the others) until a call
// admitted after the change shows it again; a call admitted before it cannot bring the old figures back.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { KeyBudgets, type KeyBudgetState } from "../../src/observability/key-budgets.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storeEnv } from "../support/stores.js";

describe("a key's budget as the gauges remember it", () => {
  let now = 1_000;
  const budgets = new KeyBudgets(() => now);
  const seen = (keyId: string, limit: number, seenMs: number): KeyBudgetState => ({ keyId, team: "t", currency: "USD", spent: 5, limit, periodEndMs: 1_000_000, seenMs });
  const shown = () => budgets.shown(() => true, 10).map((state) => `${state.keyId}:${state.limit}`);

  it("is dropped when the key changes, and a call admitted before the change does not bring it back", () => {
    budgets.record(seen("raised", 10, 900));
    budgets.record(seen("other", 10, 900));
    now = 2_000;
    budgets.forget("raised");
    expect(shown()).toEqual(["other:10"]);
    // A stream admitted before the change settles after it, with the limit it was admitted under.
    budgets.record(seen("raised", 10, 1_500));
    expect(shown()).toEqual(["other:10"]);
    // A call admitted since shows the new limit; the old stream settling later does not undo it.
    budgets.record(seen("raised", 500, 2_100));
    budgets.record(seen("raised", 10, 1_600));
    expect(shown()).toEqual(["other:10", "raised:500"]);
  });

  it("drops every key when any may have changed (the store's change log could not say which)", () => {
    now = 3_000;
    budgets.forget(undefined);
    budgets.record(seen("other", 10, 2_900));
    expect(shown()).toEqual([]);
    budgets.record(seen("other", 20, 3_000));
    expect(shown()).toEqual(["other:20"]);
  });
});

describe("budget gauges after UpdateKey and RevokeKey, on two instances sharing a store", () => {
  let fake: OpenAIFake;
  let here: TestGateway;
  let elsewhere: TestGateway;
  let drop: () => Promise<void>;
  let secret: string;
  const admin = () => createClient(AdminService, here.transport("connect"));

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    const store = await storeEnv("postgres");
    drop = store.drop;
    const env = { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_METRICS_KEYS: "budgeted", ...store.env };
    here = await startGateway(env);
    elsewhere = await startGateway(env);
    ({ secret } = await admin().createKey({ keyId: "budgeted", key: { displayName: "budgeted", budget: { limit: { units: 10n } } } }));
  });
  afterAll(async () => {
    await here?.stop();
    await elsewhere?.stop();
    await fake?.close();
    await drop?.();
  });

  const call = (gw: TestGateway) => gw.client("connect", secret).chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
  /** The key's budget limit on the instance's /metrics, or undefined when it has no series. */
  async function limitShown(gw: TestGateway): Promise<number | undefined> {
    const line = (await gw.app.metrics.registry.metrics()).split("\n").find((l) => l.startsWith('switchboard_key_budget_limit{key="budgeted"'));
    return line === undefined ? undefined : Number(line.split(" ").pop());
  }

  it("drops a key's old limit at once where it was raised and within a poll elsewhere; the next call shows the new one", async () => {
    await call(here);
    await call(elsewhere);
    expect(await limitShown(here)).toBe(10);
    expect(await limitShown(elsewhere)).toBe(10);

    await admin().updateKey({ key: { name: "keys/budgeted", budget: { limit: { units: 500n } } }, updateMask: create(FieldMaskSchema, { paths: ["budget.limit"] }) });
    expect(await limitShown(here)).toBeUndefined();
    await expect.poll(() => limitShown(elsewhere), { timeout: 5_000 }).toBeUndefined();

    await call(elsewhere);
    expect(await limitShown(elsewhere)).toBe(500);
  });

  it("drops a revoked key's series on every instance", async () => {
    await call(here);
    expect(await limitShown(here)).toBe(500);
    await admin().revokeKey({ name: "keys/budgeted" });
    expect(await limitShown(here)).toBeUndefined();
    await expect.poll(() => limitShown(elsewhere), { timeout: 5_000 }).toBeUndefined();
  });
});
