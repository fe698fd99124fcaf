// What a vendor's successful answer says of itself (its id, its model's name,
// fingerprint and tier) reaches the caller's answer and the call's span
// (gen_ai.response.id): a hostile or broken vendor must not size it (a
// 300,000-character id made a 300 KB trace) nor put a key in it, as its error
// text cannot. Each is cut to 256 characters and redacted, unary and streamed.
import type { ServerResponse } from "node:http";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_ANSWER_METADATA_CHARS } from "../../src/providers/answer-metadata.js";
import type { ErrorContext } from "../../src/providers/codec.js";
import { checkedEvents, checkedResult } from "../../src/providers/codec-guard.js";
import type { ChatResult } from "../../src/providers/provider.js";
import { rememberOwnSecret } from "../../src/providers/redact.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const VENDOR_KEY = "sk-metadata-upstream-0123456789abcdef";
/** One of the gateway's own secrets, shaped like no key (hex: one case). */
const OWN_SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const ctx: ErrorContext = { provider: "vendor", credential: createCredential("vendor/k1", VENDOR_KEY) };

const result = (said: Partial<ChatResult>): ChatResult => ({
  id: "chatcmpl-1",
  message: create(MessageSchema, { role: Role.ASSISTANT, content: "hi" }),
  finishReason: 1,
  usage: undefined,
  ...said,
});

describe("what an answer says of itself, as the adapter passes it on", () => {
  beforeAll(() => rememberOwnSecret(OWN_SECRET));

  it(`is cut to ${MAX_ANSWER_METADATA_CHARS} characters`, () => {
    const checked = checkedResult(result({ id: `chatcmpl-${"I".repeat(300_000)}`, vendorModel: "m".repeat(100_000), systemFingerprint: "f".repeat(1_000) }), ctx);
    expect(checked.id).toBe(`chatcmpl-${"I".repeat(MAX_ANSWER_METADATA_CHARS - 9)}`);
    expect(checked.vendorModel).toHaveLength(MAX_ANSWER_METADATA_CHARS);
    expect(checked.systemFingerprint).toHaveLength(MAX_ANSWER_METADATA_CHARS);
  });

  it("has the attempt's key redacted in any form, the gateway's own secrets and key shapes too", () => {
    const base64 = Buffer.from(VENDOR_KEY).toString("base64");
    expect(checkedResult(result({ id: `resp-${VENDOR_KEY}` }), ctx).id).toBe("resp-[redacted]");
    expect(checkedResult(result({ id: `resp-${base64}` }), ctx).id).not.toContain(base64.slice(0, 16));
    expect(checkedResult(result({ id: `id-${OWN_SECRET}`, vendorModel: `gpt-${OWN_SECRET}` }), ctx)).toMatchObject({ id: "id-[redacted]", vendorModel: "gpt-[redacted]" });
    expect(checkedResult(result({ id: "sk-proj-Ab3xAb3xAb3xAb3xAb3xAb3xAb3x" }), ctx).id).toBe("sk-pro…");
  });

  it("finds a secret the cut would split, rather than keeping its start", () => {
    const id = `${"x".repeat(MAX_ANSWER_METADATA_CHARS - 5)}${OWN_SECRET}`;
    const checked = checkedResult(result({ id }), ctx).id;
    expect(checked).not.toContain(OWN_SECRET.slice(0, 5));
    expect(checked.length).toBeLessThanOrEqual(MAX_ANSWER_METADATA_CHARS);
  });

  it("leaves a plain answer as it is, and a stream's first delta and end alike", () => {
    const plain = result({ id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", vendorModel: "gpt-4o-mini-2024-07-18" });
    expect(checkedResult(plain, ctx)).toBe(plain);
    const events = checkedEvents(
      [
        { type: "delta", content: "a", toolCalls: [], id: `c-${VENDOR_KEY}`, vendorModel: "n".repeat(1_000) },
        { type: "delta", content: "b", toolCalls: [] },
        { type: "end", id: "e".repeat(1_000), finishReason: 1, usage: undefined },
      ],
      ctx,
    );
    expect(events[0]).toMatchObject({ id: "c-[redacted]", vendorModel: "n".repeat(MAX_ANSWER_METADATA_CHARS) });
    expect(events[2]).toMatchObject({ id: "e".repeat(MAX_ANSWER_METADATA_CHARS) });
  });
});

describe("through a gateway, to the caller", () => {
  let vendor: FakeServer;
  let gw: TestGateway;
  const LONG_ID = `chatcmpl-${"I".repeat(300_000)}`;
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    vendor = await startFakeServer(async (req, res) => {
      const { model, stream } = req.body as { model: string; stream?: boolean };
      const id = model === "long-id" ? LONG_ID : `resp-${VENDOR_KEY}`;
      if (!stream) {
        return json(res, { id, object: "chat.completion", model: `${model}-${VENDOR_KEY}`, choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: unknown, finish: string | null) => ({ id, object: "chat.completion.chunk", model, choices: [{ index: 0, delta, finish_reason: finish }] });
      res.end(`data: ${JSON.stringify(chunk({ content: "hi" }, null))}\n\ndata: ${JSON.stringify(chunk({}, "stop"))}\n\ndata: [DONE]\n\n`);
    });
    gw = await startGateway({ METADATA_KEY: VENDOR_KEY }, { providers: { vendor: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:METADATA_KEY" } }, routes: [{ model: "*", provider: "vendor" }] });
  });
  afterAll(async () => {
    await gw?.stop();
    await vendor?.close();
  });

  const chat = (model: string, stream: boolean) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] }),
    });

  it("REST, whole and streamed: no key in the id or the model, and no id longer than the bound", async () => {
    for (const stream of [false, true]) {
      const keyed = await (await chat("key-id", stream)).text();
      expect(keyed).toContain("resp-[redacted]");
      expect(keyed).not.toContain(VENDOR_KEY);
      const long = await (await chat("long-id", stream)).text();
      expect(long).toContain(`chatcmpl-${"I".repeat(MAX_ANSWER_METADATA_CHARS - 9)}`);
      expect(long).not.toContain("I".repeat(MAX_ANSWER_METADATA_CHARS));
    }
  });

  it("Connect: the same id", async () => {
    const answer = await gw.client("connect").chat({ model: "key-id", messages: [{ role: Role.USER, content: "hi" }] });
    expect(answer.id).toBe("resp-[redacted]");
    expect(answer.vendorModel).toBe("key-id-[redacted]");
  });
});
