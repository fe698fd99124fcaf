import { createServer, type Server, type Socket } from "node:net";

/**
 * A vendor on loopback whose TLS handshake never completes: it takes
 * connections and says nothing, so a client never gets to write a request to
 * it (its connection is still opening).
 */
export interface SilentVendor {
  /** An https origin, e.g. "https://127.0.0.1:12345". */
  readonly origin: string;
  /** Connections taken so far. */
  readonly connections: number;
  /** Resets the connections taken (their handshakes fail at once) and stops listening. */
  close(): Promise<void>;
}

export async function startSilentVendor(): Promise<SilentVendor> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `https://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
