// The Anthropic SDK's models.list() and models.retrieve() got OpenAI-shaped
// objects (audit firsthour, finding 4): no type, display_name or created_at
// (Python's m.created_at.isoformat() crashed), `limit` ignored, no paging
// fields. The same paths now answer a request marked with anthropic-version
// (every Anthropic SDK call) in Anthropic's shape, and OpenAI's SDK as before.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
let sdk: Anthropic;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

describe("the Anthropic SDK's model list", () => {
  it("lists every model in Anthropic's shape, page by page", async () => {
    const all = (await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY }).models.list()).data.map((m) => m.id);
    expect(all.length).toBeGreaterThan(2);
    const first = await sdk.models.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.data[0]).toMatchObject({ type: "model", id: all[0], display_name: all[0] });
    expect(new Date(first.data[0]!.created_at).toISOString()).toBe("1970-01-01T00:00:00.000Z");
    expect(first).toMatchObject({ has_more: true, first_id: all[0], last_id: all[1] });
    // The SDK's auto-paging follows after_id to the end: every model once, in order.
    const paged: string[] = [];
    for await (const model of sdk.models.list({ limit: 2 })) paged.push(model.id);
    expect(paged).toEqual(all);
    const before = await sdk.models.list({ before_id: all[2]!, limit: 1 });
    expect(before.data.map((m) => m.id)).toEqual([all[1]]);
  });

  it("retrieves a model in Anthropic's shape, and answers a missing one as Anthropic does", async () => {
    expect(await sdk.models.retrieve("gpt-4o-mini")).toMatchObject({ type: "model", id: "gpt-4o-mini", display_name: "gpt-4o-mini" });
    const missing = await sdk.models.retrieve("no-such-model").catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing.error).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    expect(missing.requestID).toMatch(/.+/);
  });

  it("refuses a limit out of range and an unknown after_id, in Anthropic's shape", async () => {
    for (const query of [{ limit: 0 }, { limit: 1001 }, { after_id: "no-such-model" }]) {
      const err = await sdk.models.list(query).catch((e) => e);
      expect(err, JSON.stringify(query)).toBeInstanceOf(Anthropic.BadRequestError);
      expect(err.error.error.type).toBe("invalid_request_error");
    }
  });
});
