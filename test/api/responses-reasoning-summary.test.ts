// Reasoning summaries through `/v1/responses`, as Codex asks for them
// (`reasoning: {effort, summary: "auto"}`, `store: false`, the encrypted
// reasoning included), with the official OpenAI SDK, for gpt-5-codex, which
// OpenAI serves on its Responses API only: the summary and `truncation` reach
// OpenAI, and the summary it gives comes back as summary parts, whole and
// streamed, in OpenAI's own events
// (https://platform.openai.com/docs/api-reference/responses-streaming).
// Another vendor's raw reasoning stays reasoning text (responses-rest.test.ts).
import { create } from "@bufbuild/protobuf";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { ChatDeltaSchema, ChatResponseSchema, ChatSummarySchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ResponseEventWriter } from "../../src/providers/openai-responses/response-events.js";
import { openAIReasoningBlock } from "../../src/providers/openai-responses/reasoning-items.js";
import { toResponse } from "../../src/providers/openai-responses/response-object.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";
import { expectReplayedAsSummary } from "../support/cached-summary-replay.js";
import { MASTER_KEY } from "../support/gateway.js";

const CODEX = "gpt-5-codex";
const world = gatewayOverFake(
  () => startOpenAIFake({ apiKey: "sk-up", models: [CODEX] }),
  (fake) => ({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }),
);

let sdk: OpenAI;
beforeAll(() => {
  sdk = new OpenAI({ baseURL: `${world.gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

/** Codex's request (codex-rs core/src/client.rs): a summary asked for, nothing stored at OpenAI, the reasoning carried encrypted. */
function codexRequest(input: string) {
  return { model: CODEX, input, reasoning: { effort: "medium" as const, summary: "auto" as const }, store: false, include: ["reasoning.encrypted_content" as const], truncation: "auto" as const };
}

describe("a reasoning summary asked for on /v1/responses, served by OpenAI's Responses API", () => {
  it("reaches OpenAI with the effort, as does truncation", async () => {
    await sdk.responses.create(codexRequest("hi"));
    const sent = world.fake.responsesRequests().at(-1)!;
    expect(sent.reasoning).toEqual({ effort: "medium", summary: "auto" });
    expect(sent.truncation).toBe("auto");
    // generate_summary is the summary's former name, taken alike.
    await sdk.responses.create({ model: CODEX, input: "hi", reasoning: { generate_summary: "concise" }, truncation: "disabled" });
    expect(world.fake.responsesRequests().at(-1)).toMatchObject({ reasoning: { summary: "concise" }, truncation: "disabled" });
  });

  it("comes back in a whole Response as the reasoning item's summary, with its encrypted reasoning", async () => {
    const answer = await sdk.responses.create(codexRequest("hi"));
    const [reasoning] = answer.output;
    expect(reasoning).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "Thinking about hi." }], content: [], encrypted_content: expect.stringMatching(/^swb1\./) });
    expect(answer.reasoning).toEqual({ effort: "medium", summary: "auto" });
    expect(answer.output_text).toBe("Echo: hi");
  });

  it("streams as summary parts and summary text, never as reasoning text", async () => {
    const stream = sdk.responses.stream(codexRequest("hello stream"));
    const types: string[] = [];
    const deltas: string[] = [];
    stream.on("event", (event) => types.push(event.type));
    stream.on("response.reasoning_summary_text.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    const text = "Thinking about hello stream.";
    expect(deltas.join("")).toBe(text);
    expect(types.filter((type, i) => type !== types[i - 1]).slice(0, 8)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
    ]);
    expect(types.filter((type) => type.startsWith("response.reasoning_text"))).toEqual([]);
    expect(final.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text }], content: [], encrypted_content: expect.stringMatching(/^swb1\./) });
  });

  it("handed back by the caller (Codex holds its conversation) is listed back as a summary among the input items", async () => {
    const first = await sdk.responses.create(codexRequest("hi"));
    const next = await sdk.responses.create({ ...codexRequest("again"), store: true, input: [{ role: "user", content: "hi" }, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { role: "user", content: "again" }] });
    const items = await sdk.responses.inputItems.list(next.id, { order: "asc" });
    expect((items.data as { type: string }[]).find((item) => item.type === "reasoning")).toMatchObject({ summary: [{ type: "summary_text", text: "Thinking about hi." }], content: [] });
  });

  it("is kept by the response cache as a summary: a cached answer streams it as one again", async () => {
    await expectReplayedAsSummary(world.gw.url, codexRequest("cache me"));
  });
});

describe("a summary the gateway writes back from a whole answer (a cached one, replayed as one delta)", () => {
  const head = { id: "resp_0123", createdAt: 1, model: CODEX, echo: {} };
  const block = openAIReasoningBlock("gAAAA-1");

  it("is one summary part of the reasoning item its encrypted reasoning closes", () => {
    const writer = new ResponseEventWriter(head);
    const events = [...writer.start(), ...writer.delta(create(ChatDeltaSchema, { reasoningContent: "Summed up.", reasoningSummarized: true, reasoning: [block], content: "Hi" }))];
    const { response, message } = writer.finish(create(ChatSummarySchema, { reasoning: [block] }));
    expect(events.map((event) => event.event).slice(2, 7)).toEqual([
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
    ]);
    expect((response.output as object[])[0]).toMatchObject({ summary: [{ type: "summary_text", text: "Summed up." }], content: [], encrypted_content: expect.stringMatching(/^swb1\./) });
    expect(message).toMatchObject({ reasoningContent: "Summed up.", reasoningSummarized: true });
  });

  it("is the summary of the first reasoning item in a unary Response", () => {
    const answer = create(ChatResponseSchema, { message: { role: Role.ASSISTANT, content: "Hi", reasoningContent: "Summed up.", reasoningSummarized: true, reasoning: [block, openAIReasoningBlock("gAAAA-2")] } });
    const [first, second] = toResponse(answer, head).output as object[];
    expect(first).toMatchObject({ summary: [{ type: "summary_text", text: "Summed up." }], content: [] });
    expect(second).toMatchObject({ summary: [], content: [] });
  });
});
