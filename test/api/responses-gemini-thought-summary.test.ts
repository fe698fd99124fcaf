// Gemini's thought summaries through `/v1/responses`: Gemini gives its
// reasoning as summaries only (https://ai.google.dev/gemini-api/docs/thinking,
// "thought summaries"), so they come back as the reasoning item's summary,
// whole, streamed and replayed from the response cache, never as raw
// reasoning text (which another vendor's raw reasoning stays: responses-rest.test.ts).
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { expectReplayedAsSummary } from "../support/cached-summary-replay.js";
import { MASTER_KEY } from "../support/gateway.js";

const GEMINI_KEY = "AIzaSyUpstreamSecret0123456789abcdefXYZ";
const world = gatewayOverFake(
  () => startGeminiFake({ apiKey: GEMINI_KEY }),
  (fake) => ({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.baseUrl }),
);

let sdk: OpenAI;
beforeAll(() => {
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

/** Reasoning asked of a thinking Gemini model: the gateway asks Gemini for its thought summaries (includeThoughts). */
function thinkingRequest(input: string) {
  return { model: "gemini-2.5-flash", input, reasoning: { effort: "low" as const } };
}

describe("Gemini's thought summaries on /v1/responses", () => {
  it("come back in a whole Response as the reasoning item's summary", async () => {
    const answer = await sdk.responses.create(thinkingRequest("hi"));
    expect(world.fake.generateRequests().at(-1)?.generationConfig?.thinkingConfig).toMatchObject({ includeThoughts: true });
    expect(answer.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "Thinking about hi." }], content: [] });
    expect(answer.output_text).toBe("Echo: hi");
  });

  it("stream as summary text, never as reasoning text", async () => {
    const stream = sdk.responses.stream(thinkingRequest("hello stream"));
    const types: string[] = [];
    const deltas: string[] = [];
    stream.on("event", (event) => types.push(event.type));
    stream.on("response.reasoning_summary_text.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas.join("")).toBe("Thinking about hello stream.");
    expect(types.filter((type) => type.startsWith("response.reasoning_text"))).toEqual([]);
    expect(final.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "Thinking about hello stream." }], content: [] });
  });

  it("are kept by the response cache as a summary: a cached answer streams it as one again", async () => {
    await expectReplayedAsSummary(world.gw.url, thinkingRequest("cache me"));
  });
});
