import { request } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type Protocol, type TestGateway } from "../support/gateway.js";

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "tell me a long story" }] };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function setup(chunkDelayMs: number): Promise<{ fake: OpenAIFake; gw: TestGateway }> {
  const fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs, extraWords: 40 });
  const gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  cleanup.push(() => fake.close(), () => gw.stop());
  return { fake, gw };
}

describe.each<Protocol>(["grpc", "connect", "grpc-web"])("a client that cancels a stream over %s", (protocol) => {
  it("cancels the upstream request", async () => {
    const { fake, gw } = await setup(30);
    const abort = new AbortController();
    let deltas = 0;
    try {
      for await (const event of gw.client(protocol).chatStream(hello, { signal: abort.signal })) {
        if (event.event.case === "delta" && ++deltas === 3) abort.abort();
      }
    } catch (err) {
      expect(ConnectError.from(err).code).toBe(Code.Canceled);
    }
    expect(deltas).toBe(3);
    await expect.poll(() => fake.abandoned.length, { timeout: 3_000 }).toBe(1);
    // The gateway logs the call as cancelled once the stream is torn down.
    await expect.poll(() => gw.logs.entries.some((l) => l.method?.endsWith("ChatStream") && l.status === "canceled"), { timeout: 3_000 }).toBe(true);
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish, then refuses new connections", async () => {
    const { gw } = await setup(20);
    const stream = gw.client("grpc").chatStream(hello);
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);

    const stopped = gw.app.shutdown();
    let text = first.value.event.case === "delta" ? first.value.event.value.content : "";
    let summary = false;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (next.value.event.case === "delta") text += next.value.event.value.content;
      if (next.value.event.case === "summary") summary = true;
    }
    await stopped;
    expect(summary).toBe(true);
    expect(text.startsWith("Echo: tell me a long story word0")).toBe(true);
    expect(text.endsWith("word39")).toBe(true);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });

  it("finishes an in-flight unary call over HTTP/1.1", async () => {
    const { fake, gw } = await setup(0);
    fake.options.chunkDelayMs = 0;
    const call = gw.client("connect").chat(hello);
    // Give the request time to reach the gateway before shutting down.
    await expect.poll(() => fake.requests.length).toBe(1);
    const stopped = gw.app.shutdown();
    const res = await call;
    await stopped;
    expect(res.message?.content).toContain("Echo:");
  });
});

describe("a call still running when the shutdown grace period ends", () => {
  /** Long enough for the first chunks to arrive, far shorter than the stream (40 words, 100 ms apart). */
  const GRACE_MS = 600;

  it.each<Protocol>(["grpc", "connect"])("ends with Unavailable over %s, not a cut connection", async (protocol) => {
    const { gw } = await setup(100);
    gw.app.config.server.shutdownGraceMs = GRACE_MS;
    const iterator = gw.client(protocol).chatStream(hello)[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);

    const stopped = gw.app.shutdown();
    const ended = async (): Promise<void> => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    };
    const error = await ended().then(() => undefined, (err: unknown) => ConnectError.from(err));
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toBe("the gateway is shutting down");
    await stopped;
  });

  it("ends a REST stream with an error event, then the end of the response", async () => {
    const { gw } = await setup(100);
    gw.app.config.server.shutdownGraceMs = GRACE_MS;
    const events: string[] = [];
    let stopped: Promise<void> | undefined;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${gw.url}/v1/chat/completions`,
        { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" } },
        (res) => {
          res.setEncoding("utf8").on("data", (chunk: string) => {
            events.push(...chunk.split("\n\n").filter(Boolean));
            stopped ??= gw.app.shutdown(); // once the stream has begun
          });
          res.on("end", () => resolve());
          res.on("aborted", () => reject(new Error("the response was cut")));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "tell me a long story" }] }));
    });
    await stopped;
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, ""));
    expect(last.error.message).toBe("the gateway is shutting down");
    expect(events).not.toContain("data: [DONE]");
  });
});
