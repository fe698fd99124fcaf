// A vendor that ignores max_tokens, or streams tool calls whose names never
// end, is cut with its bad_response: the key is never charged far past what
// max_tokens allowed, and the gateway never keeps more than it bounds.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_STREAMED_ANSWER_CHARS } from "../../src/providers/answer-limits.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

/** What the hostile vendor streams, by the model asked for. */
const CHUNKS: Record<string, () => Iterable<Record<string, unknown>>> = {
  // Text without end (well, 2,000 chunks of 100 characters), whatever max_tokens says.
  "gpt-endless": function* () {
    for (let i = 0; i < 2_000; i++) yield { delta: { content: "x".repeat(100) } };
  },
  // 100 tool calls with names of 100,000 characters: 10 million characters, nothing in their arguments.
  "gpt-long-names": function* () {
    for (let index = 0; index < 100; index++) yield { delta: { tool_calls: [{ index, id: `call_${index}`, type: "function", function: { name: "n".repeat(100_000), arguments: "" } }] } };
  },
};

let vendor: Server;
let gw: TestGateway;

beforeAll(async () => {
  vendor = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const { model } = JSON.parse(body) as { model: string };
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const delta of CHUNKS[model]!()) {
      if (!res.write(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, ...delta, finish_reason: null }] })}\n\n`)) {
        await new Promise((resolve) => res.once("drain", resolve));
      }
      if (res.destroyed) return;
    }
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => vendor.listen(0, "127.0.0.1", resolve));
  const port = (vendor.address() as AddressInfo).port;
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }, { traffic: { retry: { max_attempts: 1 } } });
});
afterAll(async () => {
  await gw?.stop();
  vendor?.closeAllConnections();
  await new Promise((resolve) => vendor?.close(resolve));
});

async function streamed(model: string, maxTokens?: number): Promise<{ text: string; error: unknown }> {
  let text = "";
  try {
    for await (const event of gw.client().chatStream({ model, messages: [{ role: Role.USER, content: "hi" }], maxTokens })) {
      if (event.event.case === "delta") text += event.event.value.content;
    }
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

describe("a vendor that breaks its limits mid-stream", () => {
  it("is cut once its text is far past what max_tokens allows", async () => {
    const { text, error } = await streamed("gpt-endless", 10);
    expect(error).toBeDefined();
    expect((error as { code: Code }).code).toBe(Code.Unavailable);
    expect(String((error as Error).message)).toContain("ignored max_tokens");
    expect(text.length).toBeLessThanOrEqual(10 * 32 + 100);
  });

  it("is cut once the names of its tool calls pass what the gateway keeps of an answer", async () => {
    const { error } = await streamed("gpt-long-names");
    const err = error as ConnectError;
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain(`longer than ${MAX_STREAMED_ANSWER_CHARS} characters`);
  });
});
