import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BudgetExhaustedAction } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { failure } from "../support/failure.js";
import { BACKENDS, startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

describe.each(BACKENDS)("budgets and the economy model on %s", (backend) => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld(backend);
  });
  afterAll(() => world.close());

  it("labels a downgrade's requested model only once a vendor has served it: names a glob mapping downgrades take no metric place", async () => {
    const { secret } = await world.admin().createKey({
      keyId: "economy-glob",
      key: { displayName: "economy-glob", budget: { limit: { units: 30n }, softThreshold: 0.000001 }, economyModels: [{ model: "gpt-4o*", economyModel: "gpt-4o-mini" }] },
    });
    const client = world.gw.client("connect", secret);
    await client.chat(hi("gpt-4o")); // spends past the threshold
    const economy = await client.chat(hi("gpt-4o-never-served-by-anyone"));
    expect(economy).toMatchObject({ model: "gpt-4o-mini", downgraded: true });
    const metrics = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_economy_downgrades_total");
    expect(metrics).not.toContain("gpt-4o-never-served-by-anyone");
    expect(metrics).toContain('switchboard_economy_downgrades_total{requested_model="other",economy_model="gpt-4o-mini"}');
  });

  it("serves the economy model from the soft threshold on, says so everywhere, and refuses once the budget is spent", async () => {
    const { secret } = await world.admin().createKey({
      keyId: "economy",
      key: {
        displayName: "economy",
        team: "research",
        budget: { limit: { units: 30n }, softThreshold: 0.5 },
        economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }],
      },
    });
    const client = world.gw.client("connect", secret);
    // $6 a call: 0 → 6 → 12 → 18 (past the $15 soft threshold).
    for (let i = 0; i < 3; i++) {
      const answer = await client.chat(hi("gpt-4o"));
      expect(answer).toMatchObject({ model: "gpt-4o", downgraded: false });
    }
    const economy = await client.chat(hi("gpt-4o"), { headers: { "x-request-id": "economy-call-1" } });
    expect(economy).toMatchObject({ model: "gpt-4o-mini", requestedModel: "gpt-4o", downgraded: true });
    expect(economy.message?.content).toBe("Echo: hi");
    expect(world.fake.chatRequests().at(-1)?.model).toBe("gpt-4o-mini");

    // The stream's summary says so too.
    let summary;
    for await (const event of client.chatStream(hi("gpt-4o"))) if (event.event.case === "summary") summary = event.event.value;
    expect(summary).toMatchObject({ model: "gpt-4o-mini", requestedModel: "gpt-4o", downgraded: true });

    // The log line and the metric.
    await expect.poll(() => world.gw.logs.entries.find((line) => line.requestId === "economy-call-1" && line.msg === "call")).toMatchObject({ downgraded: true, keyId: "economy" });
    expect(world.gw.logs.entries.some((line) => line.msg?.startsWith("budget soft threshold reached"))).toBe(true);
    const metrics = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_economy_downgrades_total");
    expect(metrics).toContain('switchboard_economy_downgrades_total{requested_model="gpt-4o",economy_model="gpt-4o-mini"} 2');

    // A model without an economy mapping keeps its model until the limit: 18.0… → 24.0… → 30.0….
    expect((await client.chat(hi("gpt-4.1"))).model).toBe("gpt-4.1");
    expect((await client.chat(hi("gpt-4.1"))).model).toBe("gpt-4.1");

    const err = await failure(client.chat(hi("gpt-4o")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^budget exhausted: key "economy" spent 30\.\d+ of its 30\.0000 USD monthly budget; it resets at /);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "BUDGET_EXHAUSTED", metadata: { key: "economy", currency: "USD" } });
    expect(err.findDetails(RetryInfoSchema)[0]?.retryDelay).toBeDefined();

    const status = (await world.admin().getKey({ name: "keys/economy" })).key?.budgetStatus;
    expect(status).toMatchObject({ exhausted: true, economy: true });
    expect(Number(status?.spent?.units)).toBe(30);

    // The ledger has every call, the downgraded ones marked, the refused one as an error.
    const report = await world.admin().getUsageReport({ key: "keys/economy", groupBy: [UsageDimension.MODEL] });
    const byModel = Object.fromEntries(report.rows.map((row) => [row.model, row]));
    expect(Number(byModel["gpt-4o"]?.requests)).toBe(3);
    expect(Number(byModel["gpt-4o-mini"]?.requests)).toBe(2);
    expect(Number(byModel["gpt-4o-mini"]?.downgraded)).toBe(2);
    expect(Number(byModel["gpt-4.1"]?.requests)).toBe(2);
    expect(Number(byModel[""]?.errors)).toBe(1);
    expect(Number(report.total?.cost?.units)).toBe(30);
  });

  it("in economy-only mode serves only what an economy model can serve once the budget is spent", async () => {
    const { secret } = await world.admin().createKey({
      keyId: "economy-only",
      key: {
        displayName: "economy only",
        budget: { limit: { units: 5n }, whenExhausted: BudgetExhaustedAction.ECONOMY_ONLY },
        economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }],
      },
    });
    const client = world.gw.client("connect", secret);
    expect((await client.chat(hi("gpt-4o"))).model).toBe("gpt-4o"); // $6 > $5: spent.
    expect(await client.chat(hi("gpt-4o"))).toMatchObject({ model: "gpt-4o-mini", downgraded: true });
    expect(await client.chat(hi("gpt-4o-mini"))).toMatchObject({ model: "gpt-4o-mini", downgraded: false });
    const err = await failure(client.chat(hi("gpt-4.1")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain("only models with an economy mapping are served");
  });

  it("rebuilds spend from the ledger when a gateway starts", async () => {
    const { secret } = await world.admin().createKey({ keyId: "rebuilt", key: { displayName: "rebuilt", budget: { limit: { units: 10n } } } });
    await world.gw.client("connect", secret).chat(hi("gpt-4o"));
    await world.gw.client("connect", secret).chat(hi("gpt-4o"));
    // A fresh instance with no shared counters (its own Redis prefix, or none) on the same store.
    await world.gw.stop();
    const restarted = await world.start(world.env.REDIS_PREFIX ? { REDIS_PREFIX: `${world.env.REDIS_PREFIX}fresh:` } : {});
    world.gw = restarted;
    const err = await failure(restarted.client("connect", secret).chat(hi("gpt-4o")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain('key "rebuilt" spent 12.0000 of its 10.0000 USD');
  });
});
