// Gemini answers in images or speech when its generation config asks
// (responseModalities IMAGE or AUDIO, speechConfig), billed at prices above
// text that the ledger does not have: refused as unpriced options, in both of
// the spellings Gemini's REST API reads, before Gemini is asked. Before, they
// went on to Gemini inside generationConfig.
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { failure } from "../support/failure.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { MASTER_KEY } from "../support/gateway.js";

const GEMINI_KEY = "AIzaSyUpstreamSecret0123456789abcdefXYZ";

const world = gatewayOverFake(
  () => startGeminiFake({ apiKey: GEMINI_KEY }),
  (fake) => ({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.baseUrl }),
);

const chat = (vendorOptions: JsonObject) =>
  world.gw.client("connect").chat({ model: "gemini-2.5-flash", messages: [{ role: Role.USER, content: "hi" }], maxTokens: 10, vendorOptions });

describe("Gemini's image and speech answers as vendor options", () => {
  it.each([
    [{ generationConfig: { responseModalities: ["TEXT", "IMAGE"] } }, "vendor_options.generationConfig.responseModalities"],
    [{ generationConfig: { response_modalities: ["AUDIO"] } }, "vendor_options.generationConfig.response_modalities"],
    [{ generation_config: { responseModalities: ["image"] } }, "vendor_options.generation_config.responseModalities"],
    [{ generationConfig: { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } } } } }, "vendor_options.generationConfig.speechConfig"],
    [{ generation_config: { speech_config: { voice_config: {} } } }, "vendor_options.generation_config.speech_config"],
  ] as [JsonObject, string][])("%j is refused, naming %s, before Gemini is asked", async (vendorOptions, field) => {
    const before = world.fake.generateRequests().length;
    const err = await failure(chat(vendorOptions));
    expect(err.code).toBe(Code.InvalidArgument);
    const violations = err.findDetails(BadRequestSchema)[0]!.fieldViolations;
    expect(violations.map((violation) => violation.field)).toEqual([field]);
    expect(violations[0]!.description).toMatch(/ledger does not price/);
    expect(world.fake.generateRequests().length).toBe(before);
  });

  it("is refused as the caller's own field on /v1/chat/completions, naming it", async () => {
    const res = await fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }], max_tokens: 5, generationConfig: { responseModalities: ["IMAGE"] } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("generationConfig.responseModalities");
  });

  it("text answers go on", async () => {
    await chat({ generationConfig: { responseModalities: ["TEXT"] } });
    expect(world.fake.generateRequests().at(-1)!.generationConfig).toMatchObject({ responseModalities: ["TEXT"], maxOutputTokens: 10 });
  });
});
