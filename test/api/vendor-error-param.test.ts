// A vendor's refusal that names the field it refused (`error.param`): the
// OpenAI SDK's error carries it, as it would from the vendor itself, instead
// of null. The gateway keeps it in ErrorInfo metadata as `upstream_param`.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";

let world: ThreeVendors;
let sdk: OpenAI;

beforeAll(async () => {
  world = await startThreeVendors({ file: { traffic: { retry: { max_attempts: 1 } } } });
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await world?.stop();
});

const refusal = (param: string) => ({
  kind: "error" as const,
  status: 400,
  body: { error: { message: "Invalid 'messages[0].content': string too long.", type: "invalid_request_error", param, code: "string_above_max_length" } },
});

describe("an OpenAI refusal naming a field", () => {
  it("keeps the vendor's param, unary and streamed", async () => {
    world.openai.enqueue(refusal("messages[0].content"));
    const unary = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(unary).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unary.param).toBe("messages[0].content");

    world.openai.enqueue(refusal("messages[0].content"));
    const streamed = await sdk.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(streamed).toBeInstanceOf(OpenAI.BadRequestError);
    expect(streamed.param).toBe("messages[0].content");
  });

  it("drops a param that is no field path (a vendor may echo anything there)", async () => {
    world.openai.enqueue(refusal("sk-proj-" + "x".repeat(40) + " is not valid"));
    const refused = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused.param).toBeNull();
  });
});
