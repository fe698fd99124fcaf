// A key's budget taken off and put back, or given another period and back:
// calls made meanwhile never counted into its spend figure, so the change
// drops it and the next call rebuilds it from the ledger.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
/** A prompt of 300 words: about $600 at $1 a token (TEST_PRICING), past a $100 budget in one call. */
const LONG = Array.from({ length: 300 }, () => "word").join(" ");

describe.each<Backend>(["sqlite", "postgres+redis"])("a budget changed and changed back on %s", (backend) => {
  const tag = backend.replace("+", "-");
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld(backend);
  });
  afterAll(() => world.close());

  const spent = async (keyId: string): Promise<number> => {
    const status = (await world.admin().getKey({ name: `keys/${keyId}` })).key?.budgetStatus;
    return Number(status?.spent?.units ?? 0n) + (status?.spent?.nanos ?? 0) / 1e9;
  };
  const ledgerCost = async (keyId: string): Promise<number> => {
    const cost = (await world.admin().getUsageReport({ key: `keys/${keyId}` })).total?.cost;
    return Number(cost?.units ?? 0n) + (cost?.nanos ?? 0) / 1e9;
  };
  const chat = (secret: string, content: string) => world.gw.client("connect", secret).chat({ model: "gpt-4o", messages: [{ role: Role.USER, content }] });

  /** Spends a little under a $100 monthly budget, a lot under `meanwhile`, then puts the budget back: the next call is refused. */
  const check = async (keyId: string, meanwhile: { key: object; paths: string[] }) => {
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 100n }, period: BudgetPeriod.MONTH } } });
    await chat(secret, "hi");
    expect(await spent(keyId)).toBe(6);
    await world.admin().updateKey({ key: { name: `keys/${keyId}`, ...meanwhile.key }, updateMask: mask(...meanwhile.paths) });
    await chat(secret, LONG);
    // Its row is in the ledger before the budget comes back (the rebuild reads the ledger).
    await expect.poll(() => ledgerCost(keyId), { timeout: 5_000 }).toBeGreaterThan(100);
    const total = await ledgerCost(keyId);
    await world.admin().updateKey({ key: { name: `keys/${keyId}`, budget: { limit: { units: 100n }, period: BudgetPeriod.MONTH } }, updateMask: mask("budget") });
    expect((await failure(chat(secret, "hi"))).code).toBe(Code.ResourceExhausted);
    // On Redis, a call settled into a rebuilt counter holds its cost in an entry until the ledger is read again (a couple of seconds).
    await expect.poll(() => spent(keyId), { timeout: 10_000 }).toBe(total);
  };

  it("counts what the key spent while it had no budget", async () => {
    await check(`toggle-${tag}`, { key: {}, paths: ["budget"] });
  });

  it("counts what the key spent while its budget had another period", async () => {
    await check(`period-${tag}`, { key: { budget: { limit: { units: 1_000_000n }, period: BudgetPeriod.DAY } }, paths: ["budget"] });
  });
});
