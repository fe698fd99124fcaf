import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  // Each chunk comes well within the attempt timeout, but the whole answer takes several times longer.
  fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 25, extraWords: 30 });
  gw = await startGateway({ UP_KEY: "sk-up" }, { providers: { openai: { base_url: fake.baseUrl, api_key: "env:UP_KEY", timeout_ms: 250 } } });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

describe("the attempt timeout of a stream", () => {
  it("bounds silence between events, not the length of the answer", async () => {
    const started = Date.now();
    let text = "";
    let finish: FinishReason | undefined;
    for await (const event of gw.client("grpc").chatStream({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "go on" }] })) {
      if (event.event.case === "delta") text += event.event.value.content;
      if (event.event.case === "summary") finish = event.event.value.finishReason;
    }
    expect(Date.now() - started).toBeGreaterThan(250);
    expect(text.endsWith("word29")).toBe(true);
    expect(finish).toBe(FinishReason.STOP);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});
