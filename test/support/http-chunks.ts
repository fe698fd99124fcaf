import * as net from "node:net";

/** Sends `request` as raw bytes on a new connection to `port`, and resolves with every byte the server sent until it closed. */
export function rawExchange(port: number, request: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(request));
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(Buffer.concat(received)));
  });
}

/**
 * The chunks of a chunked HTTP/1.1 response, in order, as text (latin1, byte
 * for byte): one per write the server made, whatever TCP made of them on the way.
 */
export function httpChunks(response: Buffer): string[] {
  const head = response.indexOf("\r\n\r\n");
  if (!/^transfer-encoding: chunked$/im.test(response.subarray(0, head).toString("latin1"))) throw new Error("the response is not chunked");
  const chunks: string[] = [];
  for (let at = head + 4; ; ) {
    const lineEnd = response.indexOf("\r\n", at);
    const size = parseInt(response.subarray(at, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) throw new Error(`no chunk size at byte ${at}`);
    if (size === 0) return chunks;
    chunks.push(response.subarray(lineEnd + 2, lineEnd + 2 + size).toString("latin1"));
    at = lineEnd + 2 + size + 2;
  }
}
