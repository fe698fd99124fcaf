// TurnWrites: what a stream writes in one turn of the event loop leaves in one
// write (one HTTP/1.1 chunk), each turn's at its end, the held writes before
// whatever is written around them, and the client's pace still said.
import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TurnWrites } from "../../src/server/turn-writes.js";
import { httpChunks, rawExchange } from "../support/http-chunks.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server whose one answer `answer` writes; resolves with its port. */
async function serving(answer: (res: ServerResponse) => void): Promise<number> {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    answer(res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/** The HTTP/1.1 chunks of the answer on `port`. */
async function chunksOf(port: number): Promise<string[]> {
  return httpChunks(await rawExchange(port, "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"));
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("TurnWrites", () => {
  it("writes what one turn writes as one chunk, and each turn's apart", async () => {
    const port = await serving(async (res) => {
      const writes = new TurnWrites(res);
      writes.write("a");
      writes.write("b");
      await Promise.resolve(); // still the same turn: a stream's events pass through promises
      writes.write("c");
      await nextTurn();
      writes.write("d");
      await nextTurn();
      writes.end("e");
    });
    expect(await chunksOf(port)).toEqual(["abc", "d", "e"]);
  });

  it("ends with what is held in the last write", async () => {
    const port = await serving((res) => {
      const writes = new TurnWrites(res);
      writes.write("a");
      writes.write(Buffer.from("b"));
      writes.end(Buffer.from("c"));
    });
    expect(await chunksOf(port)).toEqual(["abc"]);
  });

  it("puts what is held before what is written after a flush", async () => {
    const port = await serving((res) => {
      const writes = new TurnWrites(res);
      writes.write("event 1;");
      writes.write("event 2;");
      writes.flush();
      res.end("error event");
    });
    expect(await chunksOf(port)).toEqual(["event 1;event 2;", "error event"]);
  });

  it("writes at once past what it may hold, and says when the client is behind", async () => {
    let seen: { written: number; flowing: boolean; needDrain: boolean } | undefined;
    const port = await serving((res) => {
      const writes = new TurnWrites(res);
      let written = 0;
      const write = res.write.bind(res);
      res.write = ((...args: Parameters<ServerResponse["write"]>) => (written++, write(...args))) as ServerResponse["write"];
      // A megabyte is past what the turn may hold, and past what the response buffers before it asks to wait.
      const flowing = writes.write("x".repeat(1024 * 1024));
      seen = { written, flowing, needDrain: res.writableNeedDrain };
      res.end();
    });
    await chunksOf(port);
    expect(seen).toEqual({ written: 1, flowing: false, needDrain: true });
  });
});
