import type * as net from "node:net";
import { http1Bytes, overflowAnswer, requestHeadOf } from "./header-overflow.js";

/** What Node's HTTP/1.1 parser raises, with what it read when it gave up. */
export type ParserError = Error & { code?: string; rawPacket?: Buffer };

/** Node's own answers to the parse errors other than a header overflow (its `socketOnError`). */
const NODE_ANSWERS: Record<string, string> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};
const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

/**
 * A request Node's HTTP/1.1 parser refused before any handler ran (the
 * server's `clientError`), answered as Node would, but for a header block
 * past `limitBytes`: that one is refused in its API's shape, from the request
 * line in the bytes the parser held or, when the overflow came in a later
 * read, in the connection's `firstBytes` (while no request has begun on it).
 * Node's guard holds: nothing is written once an answer on the connection
 * has begun, and the connection closes.
 */
export function answerClientError(err: ParserError, socket: net.Socket, limitBytes: number, firstBytes: Buffer | undefined): void {
  const answering = (socket as net.Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (socket.writable && !answering?.headersSent) {
    if (err.code === "HPE_HEADER_OVERFLOW") {
      const head = requestHeadOf(err.rawPacket, limitBytes) ?? requestHeadOf(firstBytes, limitBytes);
      socket.write(http1Bytes(overflowAnswer(head, limitBytes)));
    } else {
      socket.write((err.code !== undefined && Object.hasOwn(NODE_ANSWERS, err.code) ? NODE_ANSWERS[err.code] : undefined) ?? BAD_REQUEST);
    }
  }
  socket.destroy();
}
