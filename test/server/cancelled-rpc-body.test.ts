// A caller that cancels its own call while the request body is still arriving
// (RST_STREAM CANCEL, no END_STREAM: what grpc-go and connect-go send) was
// not recorded at all on the lean path (no log line, no metric), and on
// connect-es's as whatever its read made of the bytes left (unimplemented "no
// message"). Both now record it once as the caller's cancel (issue 10).
import { constants } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { CLIENT_PREFACE, FrameType, h2Frame, hpackLiteral, onH2Frames } from "../support/h2-frames.js";
import { openRawClient, useCleanup } from "../support/raw-clients.js";

const cleanup = useCleanup();
let fake: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  // The body's own cut far off: only the caller ends these calls.
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { request_timeout_ms: 600_000 } });
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

const WINDOW_UPDATE = 0x8;
const END_HEADERS = 0x4;
/** A message announcing 100,000 bytes, of which 40,000 arrive (in DATA frames of at most 16 KiB): enough that the gateway's read of them sends a WINDOW_UPDATE. */
const PART_OF_A_MESSAGE = [Buffer.from([0, 0, 1, 0x86, 0xa0, 0x0a]), Buffer.alloc(16_000), Buffer.alloc(16_000), Buffer.alloc(7_994)];

/** A request block for Chat with the given content type (and more fields), without a key: the gate lets it through, unread. */
function chatHeaders(fields: [string, string][]): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (HPACK static table)
    hpackLiteral(":path", "/switchboard.v1.AIService/Chat"),
    hpackLiteral(":authority", "localhost"),
    ...fields.map(([name, value]) => hpackLiteral(name, value)),
  ]);
}

/**
 * Opens stream 1, sends part of its body, then resets it with CANCEL: at once (the reset comes while the gateway
 * checks the key, before the read begins) or once the gateway has read the part (its WINDOW_UPDATE says so).
 */
async function cancelledMidBody(fields: [string, string][], when: "before the read" | "during the read"): Promise<void> {
  const client = await openRawClient(gw.port, cleanup);
  const read = new Promise<void>((resolve) => onH2Frames(client.socket, (frame) => frame.type === WINDOW_UPDATE && frame.stream === 1 && resolve()));
  client.socket.write(Buffer.concat([CLIENT_PREFACE, h2Frame(FrameType.HEADERS, END_HEADERS, 1, chatHeaders(fields)), ...PART_OF_A_MESSAGE.map((part) => h2Frame(FrameType.DATA, 0, 1, part))]));
  if (when === "during the read") await read;
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(constants.NGHTTP2_CANCEL);
  client.socket.write(h2Frame(FrameType.RST_STREAM, 0, 1, cancel));
}

const FORMS: [string, string, [string, string][]][] = [
  ["gRPC, lean path", "grpc", [["content-type", "application/grpc"]]],
  ["gRPC with a deadline, lean path", "grpc", [["content-type", "application/grpc"], ["grpc-timeout", "10S"]]],
  ["Connect, lean path", "connect", [["content-type", "application/proto"]]],
  ["Connect gzip, connect-es", "connect", [["content-type", "application/proto"], ["content-encoding", "gzip"]]],
];

describe("a call its caller cancels while its body is still arriving", () => {
  it.each(FORMS.flatMap(([form, surface, fields]) => (["before the read", "during the read"] as const).map((when) => [`${form}, ${when}`, surface, fields, when] as const)))(
    "%s: recorded once, as cancelled by the client",
    async (_form, surface, fields, when) => {
      gw.logs.lines.length = 0;
      const before = await countOf(surface, "canceled");
      await cancelledMidBody(fields, when);

      const lines = () => gw.logs.entries.filter((line) => line.method === "switchboard.v1.AIService/Chat" && line.status !== undefined);
      await expect.poll(lines).toHaveLength(1);
      expect(lines()[0]).toMatchObject({ surface, status: "canceled", error: expect.stringMatching(/^the client went away before its request body had all arrived \(http\/2 stream closed with error code CANCEL/) });
      expect(await countOf(surface, "canceled")).toBe(before + 1);
    },
  );
});

/** switchboard_requests_total for Chat on `surface` with `code`. */
async function countOf(surface: string, code: string): Promise<number> {
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith(`switchboard_requests_total{surface="${surface}",method="switchboard.v1.AIService/Chat",code="${code}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}
