// A REST body is UTF-8 JSON: bytes that are not UTF-8 were decoded as U+FFFD
// and forwarded to the vendor (the Connect surfaces refuse them), and a leading
// byte order mark, which RFC 8259 lets a parser ignore, was refused as "not
// valid JSON" (protocol audit L5).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const chat = (content: Buffer) => Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"'), content, Buffer.from('"}]}')]);
const post = (path: string, body: Buffer) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body });

describe("a REST body that is not UTF-8", () => {
  it("OpenAI: 400 in OpenAI's error shape, naming the problem, and no vendor is asked", async () => {
    const asked = fake.requests.length;
    const res = await post("/v1/chat/completions", chat(Buffer.from([0x68, 0xff, 0xfe, 0x69])));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", message: expect.stringContaining("not valid UTF-8") });
    expect(fake.requests.length).toBe(asked);
  });

  it("Anthropic: 400 in Anthropic's error shape", async () => {
    const res = await post("/v1/messages", chat(Buffer.from([0xc3, 0x28])));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("not valid UTF-8") } });
  });
});

describe("a REST body that begins with a UTF-8 byte order mark", () => {
  it("is served, the BOM dropped", async () => {
    const res = await post("/v1/chat/completions", Buffer.concat([BOM, chat(Buffer.from("héllo"))]));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("Echo: héllo");
  });

  it("only one: a second is not JSON", async () => {
    const res = await post("/v1/chat/completions", Buffer.concat([BOM, BOM, chat(Buffer.from("hi"))]));
    expect(res.status).toBe(400);
  });
});
