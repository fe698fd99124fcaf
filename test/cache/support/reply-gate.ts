import { createServer, type Socket } from "node:net";
import { forwardedConnection } from "../../support/forwarded-connection.js";

/**
 * A loopback forwarder to Redis that can hold what Redis answers until the
 * test lets it through: a Redis as slow as the test says, one round trip at
 * a time. What clients send reaches Redis at once; its replies wait in the
 * gate while it is closed. Listens on a port the system picks.
 */
export interface ReplyGate {
  readonly port: number;
  /** Replies held now. */
  readonly holding: number;
  /** Holds every reply from now on, until `release()` or `open()`. */
  close(): void;
  /** Lets the replies held through; the gate stays closed for the next ones. */
  release(): void;
  /** Lets the replies held through, and forwards the next ones at once. */
  open(): void;
  stop(): Promise<void>;
}

export async function replyGate(target: { host: string; port: number }): Promise<ReplyGate> {
  const sockets = new Set<Socket>();
  let held: (() => void)[] = [];
  let closed = false;
  const release = () => {
    const due = held;
    held = [];
    for (const deliver of due) deliver();
  };
  const server = createServer((client) => {
    const upstream = forwardedConnection(client, target, sockets);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (closed) held.push(() => client.write(chunk));
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    get holding() {
      return held.length;
    },
    close: () => void (closed = true),
    release,
    open() {
      closed = false;
      release();
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
