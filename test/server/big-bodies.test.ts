import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { LONG_STRING } from "../../src/common/json-bytes.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// A long prompt and a long answer (the fake echoes the prompt) through every
// surface: the vendor request, the REST answer and the Connect JSON answer
// are written by jsonBytes (src/common/json-bytes.ts), not by a JSON.stringify
// that escapes the long text a character at a time, and come out as the very
// text JSON.stringify writes.

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o"] });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Whether a value holds a string of LONG_STRING characters or more, at any depth. */
function holdsLongString(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.length >= LONG_STRING;
  if (typeof value !== "object" || value === null || depth > 32) return false;
  return Object.values(value).some((member) => holdsLongString(member, depth + 1));
}

/** JSON.stringify's calls made by the gateway's own code (src/, directly or through a library) over a long string. */
function gatewayStringifiesOfLongText(): () => string[] {
  const stringify = JSON.stringify;
  const seen: string[] = [];
  vi.spyOn(JSON, "stringify").mockImplementation(function (this: unknown, ...args: Parameters<typeof JSON.stringify>) {
    if (holdsLongString(args[0])) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 60;
      const stack = new Error().stack ?? "";
      Error.stackTraceLimit = limit;
      const frames = stack.split("\n").slice(2);
      if (frames.some((frame) => frame.includes("/src/"))) seen.push(frames.slice(0, 6).join("\n"));
    }
    return stringify.apply(JSON, args);
  } as typeof JSON.stringify);
  return () => seen;
}

/** The text JSON.stringify writes for the same value: the body was written as it would write it. */
function expectStringifyText(text: string): void {
  expect(text).toBe(JSON.stringify(JSON.parse(text)));
}

const prompts = {
  "nothing to escape": "word ".repeat(12_000),
  "newlines and quotes": 'a "quoted" line, then a newline\n'.repeat(2_000),
};

describe.each(Object.entries(prompts))("a 60 KB prompt and its echo, %s", (_, prompt) => {
  const echo = `Echo: ${prompt}`;
  const escapes = /["\\\n]/.test(prompt);

  /** The vendor got the prompt whole, as JSON.stringify writes it (its length as its content-length says). */
  function expectVendorGotPrompt(): void {
    const request = fake.requests.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!;
    expect((request.body as { messages: { content: string }[] }).messages.at(-1)!.content).toBe(prompt);
    expect(Number(request.headers["content-length"])).toBe(Buffer.byteLength(JSON.stringify(request.body)));
  }

  it("REST: sent on and answered as JSON.stringify writes them", async () => {
    const stringified = gatewayStringifiesOfLongText();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: prompt }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text).choices[0].message.content).toBe(echo);
    expectStringifyText(text);
    expectVendorGotPrompt();
    // Text with escapes is JSON.stringify's to write, as before.
    if (!escapes) expect(stringified()).toEqual([]);
  });

  it("Connect JSON: sent on and answered as connect-es writes them", async () => {
    const stringified = gatewayStringifiesOfLongText();
    const res = await fetch(`${gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "ROLE_USER", content: prompt }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text).message.content).toBe(echo);
    expectStringifyText(text);
    expectVendorGotPrompt();
    if (!escapes) expect(stringified()).toEqual([]);
  });

  it("gRPC: sent on as JSON.stringify writes it", async () => {
    const stringified = gatewayStringifiesOfLongText();
    const answer = await gw.client("grpc").chat({ model: "gpt-4o", messages: [{ role: Role.USER, content: prompt }] });
    expect(answer.message?.content).toBe(echo);
    expectVendorGotPrompt();
    if (!escapes) expect(stringified()).toEqual([]);
  });
});
