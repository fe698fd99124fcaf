// A typed-API call whose body never finishes (typed audit, findings 0 and 1).
// Cut at request_timeout_ms, it was logged at level error as `internal` when
// connect-es served it (a compressed body, gRPC-Web), and not logged at all on
// the lean path: both now log it once, as DeadlineExceeded (SLOW_CLIENT), the
// caller's fault. And a caller's own deadline passed while its body was still
// arriving was ignored until then: the call now ends DeadlineExceeded at it,
// and its stream is freed.
import { connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { useCleanup } from "../support/raw-clients.js";

const cleanup = useCleanup();
let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
});
afterAll(() => fake.close());

const CHAT = "/switchboard.v1.AIService/Chat";
const CHAT_STREAM = "/switchboard.v1.AIService/ChatStream";
/** A frame announcing 50 bytes, of which one arrives: the body never ends. */
const PART_OF_A_FRAME = Buffer.from([0, 0, 0, 0, 0x32, 0x0a]);

interface Stalled {
  status?: number;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: string;
  rstCode?: number;
}

/** Sends the headers and part of a body, never ending it; what came back once the stream closed. */
async function stalled(gw: TestGateway, headers: OutgoingHttpHeaders, body: Buffer = PART_OF_A_FRAME): Promise<Stalled> {
  const session = connect(gw.url);
  cleanup.push(() => session.destroy());
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", authorization: `Bearer ${MASTER_KEY}`, te: "trailers", ...headers });
  stream.on("error", () => {});
  const answer: Stalled = { headers: {}, trailers: {}, body: "" };
  stream.on("response", (h) => {
    answer.status = Number(h[":status"]);
    answer.headers = h;
  });
  stream.on("trailers", (t) => (answer.trailers = t));
  stream.on("data", (chunk: Buffer) => (answer.body += chunk.toString("latin1")));
  stream.write(body);
  await new Promise((resolve) => stream.once("close", resolve));
  answer.rstCode = stream.rstCode;
  return answer;
}

const SERVED_BY_CONNECT_ES = { "grpc-encoding": "gzip" };

/** The stalled forms: the lean path's (plain gRPC and Connect) and connect-es's (compressed, gRPC-Web). */
const FORMS: [string, string, OutgoingHttpHeaders][] = [
  ["gRPC, lean path", "grpc", { ":path": CHAT, "content-type": "application/grpc" }],
  ["gRPC gzip, connect-es", "grpc", { ":path": CHAT, "content-type": "application/grpc", ...SERVED_BY_CONNECT_ES }],
  ["gRPC-Web, connect-es", "grpc-web", { ":path": CHAT, "content-type": "application/grpc-web+proto" }],
  ["Connect, lean path", "connect", { ":path": CHAT, "content-type": "application/proto" }],
  ["Connect gzip, connect-es", "connect", { ":path": CHAT, "content-type": "application/proto", "content-encoding": "gzip" }],
];

describe("a body still arriving at request_timeout_ms", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { request_timeout_ms: 200 } });
  });
  afterAll(() => gw.stop());

  it.each(FORMS)("%s: logged once as the gateway's cut (deadline_exceeded, SLOW_CLIENT), not as internal", async (_form, surface, headers) => {
    gw.logs.lines.length = 0;
    const cut = await stalled(gw, headers);
    expect(cut.rstCode).toBe(constants.NGHTTP2_CANCEL);

    const lines = () => gw.logs.entries.filter((line) => line.method === "switchboard.v1.AIService/Chat" && line.status !== undefined);
    await expect.poll(lines).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ surface, level: "warn", status: "deadline_exceeded", error: expect.stringContaining("request_timeout_ms") });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`switchboard_requests_total{surface="${surface}",method="switchboard.v1.AIService/Chat",code="deadline_exceeded"}`);
    expect(metrics).not.toMatch(/switchboard_requests_total\{[^}]*code="internal"/);
  });
});

describe("a caller's deadline that passes while its body is still arriving", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The body's own cut far off: only the caller's deadline can end these calls.
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { request_timeout_ms: 600_000 } });
  });
  afterAll(() => gw.stop());

  const GRPC_DEADLINE = { "grpc-timeout": "100m" };
  const CONNECT_DEADLINE = { "connect-timeout-ms": "100" };

  it.each([
    ["gRPC Chat, lean path", { ":path": CHAT, "content-type": "application/grpc", ...GRPC_DEADLINE }],
    ["gRPC ChatStream, lean path", { ":path": CHAT_STREAM, "content-type": "application/grpc", ...GRPC_DEADLINE }],
    ["gRPC Chat gzip, connect-es", { ":path": CHAT, "content-type": "application/grpc", ...SERVED_BY_CONNECT_ES, ...GRPC_DEADLINE }],
    ["gRPC-Web Chat, connect-es", { ":path": CHAT, "content-type": "application/grpc-web+proto", ...GRPC_DEADLINE }],
  ] as [string, OutgoingHttpHeaders][])("%s: ends DeadlineExceeded, and its stream is freed", async (_form, headers) => {
    const answer = await stalled(gw, headers);
    const status = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"] ?? /grpc-status: ?(\d+)/.exec(answer.body)?.[1];
    expect(Number(status)).toBe(4);
    expect(answer.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it.each([
    ["Connect Chat, lean path", { ":path": CHAT, "content-type": "application/proto", ...CONNECT_DEADLINE }, PART_OF_A_FRAME.subarray(5)],
    ["Connect Chat gzip, connect-es", { ":path": CHAT, "content-type": "application/proto", "content-encoding": "gzip", ...CONNECT_DEADLINE }, PART_OF_A_FRAME.subarray(0, 2)],
    ["Connect ChatStream, lean path", { ":path": CHAT_STREAM, "content-type": "application/connect+proto", ...CONNECT_DEADLINE }, PART_OF_A_FRAME],
  ] as [string, OutgoingHttpHeaders, Buffer][])("%s: ends DeadlineExceeded, and its stream is freed", async (_form, headers, body) => {
    const answer = await stalled(gw, headers, body);
    expect(answer.body).toContain('"code":"deadline_exceeded"');
    expect(answer.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it("is logged once, as deadline_exceeded", async () => {
    gw.logs.lines.length = 0;
    await stalled(gw, { ":path": CHAT, "content-type": "application/grpc", ...GRPC_DEADLINE });
    const lines = () => gw.logs.entries.filter((line) => line.method === "switchboard.v1.AIService/Chat" && line.status !== undefined);
    await expect.poll(lines).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: "warn", status: "deadline_exceeded" });
  });
});
