// A stream over HTTP/1.1 (gRPC-Web, Connect) whose client stops reading: the
// gateway's writes fill the socket and wait. Whether the answer-stall bound
// then cuts it, or the client hangs up while the write waits, the call must
// end: its vendor request cancelled, one ledger row written (never `internal`:
// the gateway did not fail) that tells the gateway's cut of a client that
// stopped reading (`deadline_exceeded`, SLOW_CLIENT, as a body too slow) from
// the client's own hang-up (`canceled`), its
// budget reservation settled (the key's spend is what the ledger charged),
// and the in-flight gauge back down. A destroyed HTTP/1.1 response emits
// neither 'drain' nor 'error', which connect-node's write waits for: such a
// call used to hang for good, keeping its reservation and writing no row.
// Nor does an HTTP/2 response whose stream is reset (the stall cut's CANCEL,
// or the client's own RST_STREAM): gRPC-Web over HTTP/2, its client's window
// kept shut, must end alike.
// Raw sockets (HTTP/2: a window of 0), so that the client reads nothing at
// all; driven by events (the vendor's request closing), with no time asserted.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import * as http2 from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Money } from "../../gen/ts/google/type/money_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { fromMoneyParts } from "../../src/usage/pricing.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { openAIChunkEvent } from "../fakes/stream-writing.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { ledgerRowsFor } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";

/** The vendor's side of one call: when it blocked on the gateway (its socket full), and when its request closed. */
interface VendorCall {
  blocked: Promise<void>;
  closed: Promise<void>;
}

/** Calls the vendor has yet to take, in the order the test sends them. */
const expected: { resolveBlocked: () => void; resolveClosed: () => void }[] = [];

/** Says what the vendor's next request will report. */
function nextVendorCall(): VendorCall {
  const call = {} as { resolveBlocked: () => void; resolveClosed: () => void };
  const blocked = new Promise<void>((resolve) => (call.resolveBlocked = resolve));
  const closed = new Promise<void>((resolve) => (call.resolveClosed = resolve));
  expected.push(call);
  return { blocked, closed };
}

/** A vendor (OpenAI dialect) streaming 16 KiB events for as long as it is read. */
function endlessStream(res: ServerResponse, model: string): void {
  const call = expected.shift()!;
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.once("close", call.resolveClosed);
  const text = "z".repeat(16 * 1024);
  const more = (): void => {
    while (!res.destroyed) {
      if (!res.write(openAIChunkEvent(text, model))) {
        call.resolveBlocked();
        return void res.once("drain", more);
      }
    }
  };
  more();
}

const dataDirs = { cut: tempDir(), hangUp: tempDir() };
let vendor: FakeServer;
/** Cuts an answer its client has left unread for a moment. */
let cutting: TestGateway;
/** Cuts none while the tests run: only the client's hang-up ends a call. */
let patient: TestGateway;
/** Request ids of the calls made, by gateway: the ledger is read once each has stopped. */
const calls = { cut: [] as string[], hangUp: [] as string[] };
const stopped = { cut: false, hangUp: false };

function gatewayFile(stallMs: number) {
  return {
    server: { answer_stall_timeout_ms: stallMs },
    providers: { endless: { dialect: "openai" as const, base_url: `${vendor.origin}/v1`, api_key: "env:ENDLESS_KEY" } },
    pricing: { models: { hose: { input: 1_000, output: 1_000 } } },
    ledger: { flush_interval_ms: 50 },
  };
}

beforeAll(async () => {
  vendor = await startFakeServer((req, res) => endlessStream(res, (req.body as { model: string }).model));
  cutting = await startGateway({ ENDLESS_KEY: "sk-endless", SWITCHBOARD_DATA_DIR: dataDirs.cut }, gatewayFile(300));
  patient = await startGateway({ ENDLESS_KEY: "sk-endless", SWITCHBOARD_DATA_DIR: dataDirs.hangUp }, gatewayFile(3_600_000));
});
afterAll(async () => {
  await Promise.all([stopped.cut || cutting?.stop(), stopped.hangUp || patient?.stop()]);
  await vendor?.close();
});

const admin = (gw: TestGateway): Client<typeof AdminService> => createClient(AdminService, gw.transport("connect"));
const nanos = (money: Money | undefined) => (money ? fromMoneyParts(money.units, money.nanos) : 0);

async function budgetedKey(gw: TestGateway, keyId: string): Promise<string> {
  const { secret } = await admin(gw).createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 1_000_000n } } } });
  return secret;
}

const CONTENT_TYPES = { "grpc-web": "application/grpc-web+json", connect: "application/connect+json" } as const;
type Protocol = keyof typeof CONTENT_TYPES;

/** Sends a ChatStream call on a raw HTTP/1.1 connection that never reads a byte of the answer. */
function unreadStream(gw: TestGateway, protocol: Protocol, secret: string, requestId: string): Socket {
  const json = Buffer.from(JSON.stringify({ model: "endless/hose", messages: [{ role: "ROLE_USER", content: "everything" }] }));
  const body = Buffer.alloc(5 + json.length);
  body.writeUInt32BE(json.length, 1);
  json.copy(body, 5);
  const socket = connectTcp(gw.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.pause();
  socket.write(
    `POST /switchboard.v1.AIService/ChatStream HTTP/1.1\r\nhost: 127.0.0.1:${gw.port}\r\nauthorization: Bearer ${secret}\r\n` +
      `content-type: ${CONTENT_TYPES[protocol]}\r\nconnect-protocol-version: 1\r\nx-grpc-web: 1\r\nx-request-id: ${requestId}\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  socket.write(body);
  return socket;
}

async function callsInFlight(gw: TestGateway, surface: string): Promise<number> {
  const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_calls_in_flight")!.get();
  return metric.values.filter((v) => v.labels.surface === surface).reduce((sum, v) => sum + v.value, 0);
}

/** The call has ended: its ledger row written (one failed call for the key), and the key's spend exactly what the ledger charged. */
async function expectSettled(gw: TestGateway, keyId: string, surface: string): Promise<void> {
  const report = async () => (await admin(gw).getUsageReport({ key: `keys/${keyId}` })).total;
  await expect.poll(async () => [Number((await report())?.requests), Number((await report())?.errors)]).toEqual([1, 1]);
  const charged = nanos((await report())?.cost);
  await expect.poll(async () => nanos((await admin(gw).getKey({ name: `keys/${keyId}` })).key?.budgetStatus?.spent)).toBe(charged);
  await expect.poll(() => callsInFlight(gw, surface)).toBe(0);
}

describe.each(["grpc-web", "connect"] as const)("a %s stream over HTTP/1.1 its client stops reading", (protocol) => {
  it("is cut at the answer-stall bound, and its call ends: a ledger row, the reservation settled", async () => {
    const keyId = `cut-${protocol}`;
    const secret = await budgetedKey(cutting, keyId);
    const requestId = `stall-cut-${protocol}`;
    calls.cut.push(requestId);
    const upstream = nextVendorCall();
    const socket = unreadStream(cutting, protocol, secret, requestId);
    await upstream.closed;
    await expectSettled(cutting, keyId, protocol);
    // Node 20 tells the cut (deadline_exceeded, naming answer_stall_timeout_ms); Node 22 and later may fail the
    // waiting write (ECANCELED) before the cut is known, so the line reads the client gone: never internal.
    await expect.poll(() => cutting.logs.entries.find((line) => line.requestId === requestId && line.status !== undefined)?.status).toMatch(/^(deadline_exceeded|canceled)$/);
    socket.destroy();
  });

  it("ends its call when the client hangs up while the gateway's write waits: a ledger row, the reservation settled", async () => {
    const keyId = `hang-up-${protocol}`;
    const secret = await budgetedKey(patient, keyId);
    const requestId = `hang-up-${protocol}`;
    calls.hangUp.push(requestId);
    const upstream = nextVendorCall();
    const socket = unreadStream(patient, protocol, secret, requestId);
    // The vendor blocks once every buffer between it and the client is full: the gateway's write to the client waits.
    await upstream.blocked;
    socket.destroy();
    await once(socket, "close");
    await upstream.closed;
    await expectSettled(patient, keyId, protocol);
    await expect.poll(() => patient.logs.entries.find((line) => line.requestId === requestId)?.status).toBe("canceled");
  });
});

/**
 * Sends a gRPC-Web ChatStream call over HTTP/2 whose client never reads its answer: its window stays shut, so the
 * gateway's writes wait on it. Returns the stream, to reset, and its session, to close.
 */
function unreadH2Stream(gw: TestGateway, secret: string, requestId: string): { session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream } {
  const message = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "endless/hose", messages: [{ role: Role.USER, content: "everything" }] }));
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  const session = http2.connect(gw.url, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": "/switchboard.v1.AIService/ChatStream",
    authorization: `Bearer ${secret}`,
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
    "x-request-id": requestId,
  });
  stream.on("error", () => {});
  stream.end(body);
  return { session, stream };
}

describe("a grpc-web stream over HTTP/2 its client stops reading", () => {
  it("is cut at the answer-stall bound, and its call ends: a ledger row, the reservation settled", async () => {
    const keyId = "cut-grpc-web-h2";
    const secret = await budgetedKey(cutting, keyId);
    const requestId = "stall-cut-grpc-web-h2";
    calls.cut.push(requestId);
    const upstream = nextVendorCall();
    const { session } = unreadH2Stream(cutting, secret, requestId);
    await upstream.closed;
    await expectSettled(cutting, keyId, "grpc-web");
    // Node 20 tells the cut (deadline_exceeded, naming answer_stall_timeout_ms); Node 22 and later may fail the
    // waiting write (ECANCELED) before the cut is known, so the line reads the client gone: never internal.
    await expect.poll(() => cutting.logs.entries.find((line) => line.requestId === requestId && line.status !== undefined)?.status).toMatch(/^(deadline_exceeded|canceled)$/);
    session.destroy();
  });

  it("ends its call when the client resets the stream while the gateway's write waits: a ledger row, the reservation settled", async () => {
    const keyId = "reset-grpc-web-h2";
    const secret = await budgetedKey(patient, keyId);
    const requestId = "reset-grpc-web-h2";
    calls.hangUp.push(requestId);
    const upstream = nextVendorCall();
    const { session, stream } = unreadH2Stream(patient, secret, requestId);
    await upstream.blocked;
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await once(stream, "close");
    await upstream.closed;
    await expectSettled(patient, keyId, "grpc-web");
    await expect.poll(() => patient.logs.entries.find((line) => line.requestId === requestId && line.status !== undefined)?.status).toBe("canceled");
    session.destroy();
  });
});

describe("the ledger, read once the gateways have stopped", () => {
  const RECORDED = { hangUp: "canceled" } as const;
  it.each(["cut", "hangUp"] as const)("records every %s call as the gateway's cut or the client's cancel, not internal", async (which) => {
    expect(calls[which]).toHaveLength(3);
    stopped[which] = true;
    await (which === "cut" ? cutting : patient).stop();
    const db = new SqliteDatabase(join(dataDirs[which], "switchboard.db"));
    try {
      const rows = await ledgerRowsFor(db, calls[which]);
      // A cut may read as the client gone where Node fails the waiting write first (Node 22 and later): never internal.
      const recorded = () => (which === "cut" ? expect.stringMatching(/^(deadline_exceeded|canceled)$/) : RECORDED[which]);
      expect(Object.fromEntries(rows.map((row) => [row.requestId, row.status]))).toEqual(Object.fromEntries(calls[which].map((id) => [id, recorded()])));
    } finally {
      await db.close();
    }
  });
});
