import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Capability } from "../../gen/ts/switchboard/v1/models_pb.js";
import { connectFromBrowser, streamInto } from "../../examples/typescript/browser.js";
import { run } from "../../examples/typescript/client.js";
import { startClientHarness, type ClientHarness } from "./support/client-harness.js";

// The TypeScript counterpart of examples/go and examples/python: the same calls and
// checks, through connect-node's gRPC transport (examples/typescript/client.ts) and
// Connect-Web's fetch transport (examples/typescript/browser.ts, here on Node's fetch).

let harness: ClientHarness;
beforeAll(async () => {
  harness = await startClientHarness();
});
afterAll(async () => {
  await harness?.stop();
});

const WRONG_KEY = "sk-not-a-gateway-key";
const user = (content: string) => [{ role: Role.USER, content }];
const grpc = (key?: string) => harness.gateway.client("grpc", key);
const codeOf = (promise: Promise<unknown>) => promise.then(() => "resolved", (err) => ConnectError.from(err).code);
async function collect(stream: AsyncIterable<ChatStreamResponse>): Promise<ChatStreamResponse[]> {
  const events = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("the TypeScript client over gRPC (connect-node)", () => {
  it("runs the example", async () => {
    const lines: string[] = [];
    await run(harness.gateway.url, harness.env.SWITCHBOARD_KEY, (line) => lines.push(line));
    expect(lines).toContain("gpt-4o-mini (openai)");
    expect(lines).toContain("Echo: hello");
    expect(lines.at(-1)).toMatch(/^Echo: tell me a story\n\[STOP, \d+ tokens\]$/);
  });

  it("lists models", async () => {
    const { models } = await grpc().listModels({});
    const model = models.find((m) => m.id === "gpt-4o-mini");
    expect(model?.provider).toBe("openai");
    expect(model?.capabilities).toContain(Capability.CHAT);
  });

  it("chats", async () => {
    const res = await grpc().chat({ model: "gpt-4o-mini", messages: user("hello from TypeScript") });
    expect(res.message?.content).toBe("Echo: hello from TypeScript");
    expect(res.message?.role).toBe(Role.ASSISTANT);
    expect(res.finishReason).toBe(FinishReason.STOP);
    expect([res.provider, res.model]).toEqual(["openai", "gpt-4o-mini"]);
    expect(res.requestId).not.toBe("");
    expect(res.usage!.promptTokens).toBeGreaterThan(0);
    expect(res.usage!.totalTokens).toBe(res.usage!.promptTokens + res.usage!.completionTokens);
  });

  it("streams", async () => {
    const events = await collect(grpc().chatStream({ model: "gpt-4o-mini", messages: user("stream to TypeScript") }));
    const text = events.map((e) => (e.event.case === "delta" ? e.event.value.content : "")).join("");
    expect(text).toBe("Echo: stream to TypeScript");
    const summaries = events.flatMap((e) => (e.event.case === "summary" ? [e.event.value] : []));
    expect(summaries).toHaveLength(1);
    expect(events.at(-1)?.event.case).toBe("summary");
    expect(summaries[0]!.finishReason).toBe(FinishReason.STOP);
    expect(summaries[0]!.usage?.completionTokens).toBeGreaterThan(0);
    expect(summaries[0]!.provider).toBe("openai");
  });

  it("gets Unauthenticated with a wrong key", async () => {
    expect(await codeOf(grpc(WRONG_KEY).listModels({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(grpc(WRONG_KEY).chat({ model: "gpt-4o-mini", messages: user("hello") }))).toBe(Code.Unauthenticated);
    expect(await codeOf(collect(grpc(WRONG_KEY).chatStream({ model: "gpt-4o-mini", messages: user("hello") })))).toBe(Code.Unauthenticated);
    await expect(run(harness.gateway.url, WRONG_KEY, () => {})).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("gets DeadlineExceeded when the vendor does not answer in time, and the vendor call is dropped", async () => {
    const before = harness.hangingVendor.abandoned.length;
    const call = grpc().chat({ model: harness.env.SWITCHBOARD_HANGING_MODEL, messages: user("are you there?") }, { timeoutMs: 500 });
    expect(await codeOf(call)).toBe(Code.DeadlineExceeded);
    await vi.waitFor(() => expect(harness.hangingVendor.abandoned.length).toBeGreaterThan(before), { timeout: 5_000 });
  });
});

describe("the browser client over Connect-Web (examples/typescript/browser.ts)", () => {
  it("chats and streams", async () => {
    const client = connectFromBrowser(harness.gateway.url, harness.env.SWITCHBOARD_KEY);
    const res = await client.chat({ model: "gpt-4o-mini", messages: user("hello from a page") });
    expect(res.message?.content).toBe("Echo: hello from a page");
    let text = "";
    await streamInto(client, "stream to a page", (piece) => (text += piece));
    expect(text).toBe("Echo: stream to a page");
  });

  it("gets Unauthenticated with a wrong key", async () => {
    const client = connectFromBrowser(harness.gateway.url, WRONG_KEY);
    expect(await codeOf(streamInto(client, "hello", () => {}))).toBe(Code.Unauthenticated);
  });
});
