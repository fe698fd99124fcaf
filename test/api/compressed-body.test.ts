// REST bodies sent with a content coding (`content-encoding: gzip`, deflate,
// br) are decoded, within the same 8 MiB bound as a plain body: a
// decompression bomb stops at the bound (413) and the connection goes on
// serving. A coding the gateway does not decode is refused with a message
// naming those it does, instead of "the body is not valid JSON".
import * as http from "node:http";
import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/api/envelope/json-body.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const auth = { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" };
const chat = (content: string) => Buffer.from(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }));

interface Answer {
  status: number;
  body: string;
  json(): { error?: { message: string; code: string; type: string } };
}

/** Sends requests one after another on a single kept-alive HTTP/1.1 connection. */
function oneConnection() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (path: string, headers: Record<string, string>, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(`${gw.url}${path}`, { method: "POST", agent, headers: { ...headers, "content-length": String(body.length) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

async function post(path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const conn = oneConnection();
  try {
    return await conn.send(path, headers, body);
  } finally {
    conn.close();
  }
}

describe("a REST body with a content coding", () => {
  it.each([
    { coding: "gzip", encode: gzipSync, as: "gzip" },
    { coding: "x-gzip", encode: gzipSync, as: "gzip" },
    { coding: "deflate", encode: deflateSync, as: "zlib" },
    { coding: "deflate", encode: deflateRawSync, as: "raw deflate" },
    { coding: "br", encode: brotliCompressSync, as: "brotli" },
    { coding: "GZip", encode: gzipSync, as: "gzip" },
    { coding: "identity", encode: (bytes: Buffer) => bytes, as: "plain JSON" },
  ])("is decoded: content-encoding $coding, sent as $as", async ({ coding, encode }) => {
    const answer = await post("/v1/chat/completions", { ...auth, "content-encoding": coding }, encode(chat(`sent as ${coding}`)));
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body).choices[0].message.content).toBe(`Echo: sent as ${coding}`);
  });

  it("is decoded on the Anthropic surface too", async () => {
    const body = gzipSync(Buffer.from(JSON.stringify({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "zipped" }] })));
    const answer = await post("/v1/messages", { ...auth, "content-encoding": "gzip" }, body);
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body).content[0].text).toBe("Echo: zipped");
  });

  it("is what an OpenAI SDK whose fetch compresses its uploads gets answered", async () => {
    const gzipping: typeof fetch = async (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set("content-encoding", "gzip");
      return fetch(url, { ...init, headers, body: gzipSync(Buffer.from(String(init?.body))) });
    };
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, fetch: gzipping, maxRetries: 0 });
    const answer = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "from the sdk" }] });
    expect(answer.choices[0]!.message.content).toBe("Echo: from the sdk");
  });

  it.each([
    { coding: "gzip", encode: (bytes: Buffer) => gzipSync(bytes, { level: 9 }) },
    { coding: "br", encode: (bytes: Buffer) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }) },
  ])("that decodes past the body limit ($coding bomb) → 413, and the next request on the connection is answered", async ({ coding, encode }) => {
    // 8 times the limit once decoded, a few hundred KB at most as sent.
    const bomb = encode(Buffer.alloc(8 * MAX_BODY_BYTES, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY_BYTES / 10);
    const conn = oneConnection();
    const first = await conn.send("/v1/chat/completions", { ...auth, "content-encoding": coding }, bomb);
    expect(first.status).toBe(413);
    expect(first.json().error).toMatchObject({ code: "request_too_large", message: expect.stringContaining(`once decoded (${coding})`) });
    const next = await conn.send("/v1/chat/completions", auth, chat("next"));
    expect(next.status).toBe(200);
    conn.close();
  });

  it("that decodes to exactly the limit is read (the bound is the same as for a plain body)", async () => {
    const json = chat("at the limit");
    const padded = Buffer.concat([json, Buffer.alloc(MAX_BODY_BYTES - json.length, 0x20)]);
    const answer = await post("/v1/chat/completions", { ...auth, "content-encoding": "gzip" }, gzipSync(padded));
    expect(answer.status, answer.body).toBe(200);
  });

  it("that is not valid in its coding → 400 saying so", async () => {
    const answer = await post("/v1/chat/completions", { ...auth, "content-encoding": "gzip" }, chat("not compressed at all"));
    expect(answer.status).toBe(400);
    expect(answer.json().error).toMatchObject({ type: "invalid_request_error", message: expect.stringContaining("not valid gzip") });
  });

  it.each(["zstd", "compress", "gzip, br", "br, gzip"])("in a coding the gateway does not decode (%s) → 400 naming those it does, not 'not valid JSON'", async (coding) => {
    const conn = oneConnection();
    const answer = await conn.send("/v1/chat/completions", { ...auth, "content-encoding": coding }, gzipSync(chat("hello")));
    expect(answer.status).toBe(400);
    expect(answer.json().error?.message).toMatch(/content-encoding .* is not supported: .*gzip, deflate or br/);
    expect(answer.json().error?.message).not.toContain("not valid JSON");
    // The unread body is dropped and the connection serves the next request.
    expect((await conn.send("/v1/chat/completions", auth, chat("next"))).status).toBe(200);
    conn.close();
  });
});
