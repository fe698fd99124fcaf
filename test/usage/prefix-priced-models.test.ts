// A budgeted key asking for a dearer model whose name starts with a cheaper
// row's ("o1-pro" is 10× "o1", "gpt-4o-2024-05-13" twice "gpt-4o") is refused
// as unpriced, not served at the cheaper price; a snapshot its row lists is
// served at the row's price, and a key without a budget is still served the
// others, recorded as unpriced (cost 0, counted).
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const DEARER = ["o1-pro", "gpt-4o-2024-05-13", "gpt-4o-mini-search-preview"];
const SNAPSHOT = "gpt-4o-mini-2024-07-18";
const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

describe("models priced only by their own rows, on sqlite", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    // The shipped catalogue's prices alone: no pricing.models name that these start with.
    world = await startUsageWorld("sqlite", { pricing: { models: {} } }, [...DEARER, SNAPSHOT]);
  });
  afterAll(() => world.close());

  const spentNanos = async (keyId: string): Promise<number> => {
    const status = (await world.admin().getKey({ name: `keys/${keyId}` })).key?.budgetStatus;
    return Number(status?.spent?.units ?? 0n) * 1e9 + (status?.spent?.nanos ?? 0);
  };
  const vendorAsked = (model: string) => world.fake.requests.filter((request) => (request.body as { model?: string } | undefined)?.model === model).length;

  it("refuses a budgeted key a dearer model that starts with a cheaper row's name, before the vendor is asked", async () => {
    const { secret } = await world.admin().createKey({ keyId: "bob", key: { displayName: "bob", budget: { limit: { units: 1n } } } });
    const client = world.gw.client("connect", secret);
    for (const model of DEARER) {
      const err = await failure(client.chat(hi(model)));
      expect(err.code, model).toBe(Code.FailedPrecondition);
      expect(err.findDetails(ErrorInfoSchema)[0], model).toMatchObject({ reason: "MODEL_UNPRICED", metadata: { model, unpriced: `openai/${model}` } });
      expect(vendorAsked(model), model).toBe(0);
    }
    const rest = await fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "o1-pro", messages: [{ role: "user", content: "price probe" }] }),
    });
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { error: unknown }).error).toMatchObject({ code: "model_unpriced" });
    expect(await spentNanos("bob")).toBe(0);
  });

  it("serves a budgeted key a snapshot its row lists, at the row's price", async () => {
    const { secret } = await world.admin().createKey({ keyId: "carol", key: { displayName: "carol", budget: { limit: { units: 1n } } } });
    expect((await world.gw.client("connect", secret).chat(hi(SNAPSHOT))).model).toBe(SNAPSHOT);
    // gpt-4o-mini: $0.15 in, $0.60 out per million; "hi" is 4 prompt tokens, "Echo: hi" 2 completion tokens.
    expect(await spentNanos("carol")).toBe(4 * 150 + 2 * 600);
  });

  it("serves a key without a budget the dearer model, recorded as unpriced", async () => {
    const { secret } = await world.admin().createKey({ keyId: "dave", key: { displayName: "dave" } });
    expect((await world.gw.client("connect", secret).chat(hi("o1-pro"))).model).toBe("o1-pro");
    const metrics = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_unpriced_calls_total");
    expect(metrics).toMatch(/switchboard_unpriced_calls_total\{provider="openai"\} [1-9]/);
  });
});
