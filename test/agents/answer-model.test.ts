// A routed alias answers with the model that served it, streamed or not: the
// Anthropic SDK's finalMessage() and the OpenAI SDK's finalResponse() equal
// the unary answers in `model` too, from the stream's first event on.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER_KEY } from "../support/gateway.js";
import { startThreeVendors, type ThreeVendors } from "./support/three-vendors.js";

let world: ThreeVendors;

beforeAll(async () => {
  world = await startThreeVendors({
    file: {
      routes: [
        { model: "claude-on-gpt", provider: "openai", upstream_model: "gpt-4o-mini" },
        { model: "gpt-on-claude", provider: "anthropic", upstream_model: "claude-sonnet-4-5" },
      ],
    },
  });
});
afterAll(async () => {
  await world?.stop();
});

describe("/v1/messages", () => {
  it.each([
    ["claude-on-gpt", "gpt-4o-mini"],
    ["gpt-on-claude", "claude-sonnet-4-5"],
  ])("names %s's serving model %s in message_start as the unary answer does", async (alias, served) => {
    const sdk = new Anthropic({ baseURL: world.gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const ask = { model: alias, max_tokens: 64, messages: [{ role: "user" as const, content: "which model?" }] };
    const unary = await sdk.messages.create(ask);
    const stream = sdk.messages.stream(ask);
    const started = new Promise<string>((resolve) => stream.on("streamEvent", (event) => event.type === "message_start" && resolve(event.message.model)));
    const streamed = await stream.finalMessage();
    expect(unary.model).toBe(served);
    expect(await started).toBe(served);
    expect(streamed.model).toBe(served);
  });
});

describe("/v1/responses", () => {
  it.each([
    ["gpt-on-claude", "claude-sonnet-4-5"],
    ["claude-on-gpt", "gpt-4o-mini"],
  ])("names %s's serving model %s in every Response of the stream as the unary one does", async (alias, served) => {
    const sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    const unary = await sdk.responses.create({ model: alias, input: "which model?", store: false });
    const stream = sdk.responses.stream({ model: alias, input: "which model?", store: false });
    const models: string[] = [];
    stream.on("event", (event) => {
      if ("response" in event) models.push(event.response.model);
    });
    const streamed = await stream.finalResponse();
    expect(unary.model).toBe(served);
    expect(streamed.model).toBe(served);
    expect(models.length).toBeGreaterThanOrEqual(3);
    expect(new Set(models)).toEqual(new Set([served]));
  });
});
