import type { Socket } from "node:net";

/**
 * HTTP/2 written and read frame by frame on a plain socket (RFC 9113 §4),
 * for the tests that must send what Node's own client never would: floods of
 * streams, resets, frames on the wrong stream.
 */

/** The frame types the tests write or look for. */
export const FrameType = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;

/** A frame: a 9-byte header (length, type, flags, stream id), then the payload. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK literal header field without indexing, with a new name (RFC 7541 §6.2.2); short names and values only. */
export function hpackLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/** What a client sends first: the connection preface, then its (empty) SETTINGS. */
export const CLIENT_PREFACE = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), h2Frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]);

/**
 * A header block for a gRPC call to Chat without a key (POST, http, its path,
 * authority and content type): sent in HEADERS without END_STREAM, it opens a
 * stream whose body has not come.
 */
export const KEYLESS_CHAT_HEADERS = Buffer.concat([
  Buffer.from([0x83, 0x86]), // :method POST, :scheme http (HPACK static table)
  hpackLiteral(":path", "/switchboard.v1.AIService/Chat"),
  hpackLiteral(":authority", "localhost"),
  hpackLiteral("content-type", "application/grpc"),
]);

/** Calls `onFrame` with each whole frame the server sends on `socket`. */
export function onH2Frames(socket: Socket, onFrame: (frame: { type: number; stream: number; payload: Buffer }) => void): void {
  let pending = Buffer.alloc(0);
  socket.on("data", (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      onFrame({ type: pending[3]!, stream: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) });
      pending = pending.subarray(9 + length);
    }
  });
}
