// Audit issue 17: a model a caller names holding a piece of one of the
// gateway's secrets ("x-" and 26 characters of the master key, on a glob route)
// became a label of switchboard_tokens_total, exported to every scraper.
// Metric labels are written where only operators read, as log lines are: the
// piece is found as log lines mask it (12 characters or more, in any case,
// %-encoded too), and the value counts as "other", taking no place.
import { beforeAll, describe, expect, it } from "vitest";
import { BoundedLabel, OTHER } from "../../src/observability/bounded-labels.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { rememberOwnSecret } from "../../src/providers/redact.js";

/** A master key made as the docs say (`openssl rand -base64 32`): shaped like no key. */
const MASTER_KEY = "Zq3Lr8TwXv2Nb6Hc9Jm1Pk4Sd7Fg0Ay5Ue+Wi/Ro=";
const PIECE = `x-${MASTER_KEY.slice(3, 29)}`;

describe("metric labels and pieces of the gateway's secrets", () => {
  beforeAll(() => rememberOwnSecret(MASTER_KEY));

  it("never take a model holding a piece of a secret as a value, whatever its case or encoding", () => {
    const models = new BoundedLabel(10);
    for (const model of [PIECE, PIECE.toUpperCase(), `m-${encodeURIComponent(MASTER_KEY.slice(20, 40))}`, `openai/${MASTER_KEY.slice(0, 12)}`]) {
      expect(models.of(model), model).toBe(OTHER);
    }
    // None took a place: an ordinary name still gets its own label, and 11 characters of a secret are an ordinary word.
    expect(models.of("gpt-4o-mini")).toBe("gpt-4o-mini");
    expect(models.of(`m-${MASTER_KEY.slice(3, 14)}`)).toBe(`m-${MASTER_KEY.slice(3, 14)}`);
    // Nor does a configured model's name that holds one.
    expect(new BoundedLabel(0, [PIECE]).known(PIECE)).toBe(OTHER);
  });

  it("keep the piece out of switchboard_tokens_total and switchboard_cost_total", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.recordUsage({ provider: "vendor", model: PIECE, keyId: "k", team: "", currency: "USD", promptTokens: 3, completionTokens: 2, cachedTokens: 0, cost: 0.5 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('switchboard_tokens_total{provider="vendor",model="other",kind="prompt"} 3');
    expect(text).toContain('switchboard_cost_total{provider="vendor",model="other",currency="USD"} 0.5');
    expect(text).not.toContain(MASTER_KEY.slice(3, 15));
  });
});
