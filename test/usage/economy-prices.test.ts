// An economy model is "a cheaper model near the budget's limit": one that is not cheaper would spend the budget
// as fast or faster, and under economy_only one priced the same would leave the key no budget at all.
// TEST_PRICING: gpt-4o and gpt-4.1 cost $1 a token, gpt-4o-mini a tenth of a cent; a gpt-4o "hi" costs $6.
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BudgetExhaustedAction } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });
const violations = (err: ConnectError) => err.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];

describe("economy models that are not cheaper", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world.close());

  it("are refused by CreateKey and UpdateKey, naming the mapping; cheaper ones and globs (no one price) are taken", async () => {
    const create = (model: string, economyModel: string) => world.admin().createKey({ key: { displayName: "economy", economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }, { model, economyModel }] } });
    for (const [model, economyModel] of [
      ["gpt-4o", "gpt-4.1"], // the same price
      ["gpt-4o-mini", "gpt-4o"], // dearer
      ["gpt-4o", "gpt-4o"], // itself
    ]) {
      const err = await failure(create(model!, economyModel!));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(violations(err)).toMatchObject([
        { field: "key.economy_models[1].economy_model", description: expect.stringContaining(`"${economyModel}" is not cheaper than "${model}" (`) },
      ]);
    }
    expect(violations(await failure(create("gpt-4o", "gpt-4.1")))[0]?.description).toContain("(1000000/1000000 USD per million input/output tokens against 1000000/1000000 USD");

    const made = await create("gpt-4.1", "gpt-4o-mini");
    expect(made.key?.economyModels.map((m) => m.economyModel)).toEqual(["gpt-4o-mini", "gpt-4o-mini"]);
    // A glob names no one model: left to admission.
    await world.admin().createKey({ key: { displayName: "glob", economyModels: [{ model: "gpt-4o-m*", economyModel: "gpt-4o" }] } });

    const name = made.key!.name;
    const err = await failure(world.admin().updateKey({ key: { name, economyModels: [{ model: "gpt-4o-mini", economyModel: "gpt-4.1" }] } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violations(err).map((v) => v.field)).toEqual(["key.economy_models[0].economy_model"]);
    expect((await world.admin().getKey({ name })).key?.economyModels).toHaveLength(2);
  });

  it("are not downgraded to at admission: the call keeps its model, and under economy_only the budget still holds", async () => {
    // Globs pass CreateKey; from the first call on (a soft threshold of almost 0) the mapping would apply.
    const { secret } = await world.admin().createKey({
      keyId: "dearer-economy",
      key: {
        displayName: "dearer economy",
        budget: { limit: { units: 100n }, softThreshold: 1e-12 },
        economyModels: [
          { model: "gpt-4o-m*", economyModel: "gpt-4o" },
          { model: "gpt-4.?", economyModel: "gpt-4o-mini" },
        ],
      },
    });
    const client = world.gw.client("connect", secret);
    expect(await client.chat(hi("gpt-4o-mini"))).toMatchObject({ model: "gpt-4o-mini", downgraded: false });
    // A cheaper one is still downgraded to.
    expect(await client.chat(hi("gpt-4.1"))).toMatchObject({ model: "gpt-4o-mini", requestedModel: "gpt-4.1", downgraded: true });
    await expect.poll(() => world.gw.logs.entries.filter((line) => line.msg?.startsWith("the key's economy model would not cost less"))).toEqual([
      expect.objectContaining({ keyId: "dearer-economy", requestedModel: "gpt-4o-mini", economyModels: "openai/gpt-4o" }),
    ]);
    // Said once per key and models.
    await client.chat(hi("gpt-4o-mini"));
    expect(world.gw.logs.entries.filter((line) => line.msg?.startsWith("the key's economy model would not cost less"))).toHaveLength(1);

    // The same price under economy_only: once the budget is spent, refused, not served on without end.
    const spent = await world.admin().createKey({
      keyId: "same-price-economy",
      key: {
        displayName: "same price economy",
        budget: { limit: { units: 5n }, whenExhausted: BudgetExhaustedAction.ECONOMY_ONLY },
        economyModels: [{ model: "gpt-4.?", economyModel: "gpt-4o" }],
      },
    });
    const spender = world.gw.client("connect", spent.secret);
    expect((await spender.chat(hi("gpt-4.1"))).model).toBe("gpt-4.1"); // $6 > $5: spent.
    const err = await failure(spender.chat(hi("gpt-4.1")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("BUDGET_EXHAUSTED");
  });
});
