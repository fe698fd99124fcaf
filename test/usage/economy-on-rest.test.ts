// A REST answer says it was served by the key's economy model, as the typed
// API's `downgraded` does: the body's `model` alone cannot tell a downgrade
// from a model the vendor names otherwise (gpt-4o answers as gpt-4o-2024-08-06).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const DOWNGRADED = "x-switchboard-downgraded";

describe("a downgrade to the economy model on the REST surfaces", () => {
  let world: UsageWorld;
  let secret: string;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
    ({ secret } = await world.admin().createKey({
      keyId: "economy-rest",
      key: { displayName: "economy-rest", budget: { limit: { units: 30n }, softThreshold: 0.5 }, economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }] },
    }));
  });
  afterAll(() => world.close());

  const post = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${world.gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const chat = (stream = false) => post("/v1/chat/completions", { model: "gpt-4o", stream, messages: [{ role: "user", content: "hi" }] });

  it("says so in a header on chat completions, the Messages API and the Responses API, whole or streamed, once the soft threshold is passed", async () => {
    // $6 a call (TEST_PRICING): 0 → 6 → 12 → 18, past the $15 soft threshold; none of these is downgraded.
    for (let i = 0; i < 3; i++) {
      const before = await chat();
      expect(before.status).toBe(200);
      expect(before.headers.get(DOWNGRADED)).toBeNull();
      await before.text();
    }

    const answers = [
      await chat(),
      await chat(true),
      await post("/v1/messages", { model: "gpt-4o", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" }),
      await post("/v1/messages", { model: "gpt-4o", max_tokens: 16, stream: true, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" }),
      await post("/v1/responses", { model: "gpt-4o", input: "hi" }),
      await post("/v1/responses", { model: "gpt-4o", input: "hi", stream: true }),
    ];
    for (const answer of answers) {
      const body = await answer.text();
      expect(answer.status, body).toBe(200);
      expect(answer.headers.get(DOWNGRADED), body).toBe("true");
    }
    expect(world.fake.chatRequests().at(-1)?.model).toBe("gpt-4o-mini");
  });

  it("lets a page on another origin read it", async () => {
    const answer = await post("/v1/chat/completions", { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }, { origin: "https://app.example" });
    await answer.text();
    expect(String(answer.headers.get("access-control-expose-headers")).toLowerCase().split(", ")).toContain(DOWNGRADED);
  });
});
