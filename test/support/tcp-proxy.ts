import { createServer, type Server, type Socket } from "node:net";
import { forwardedConnection } from "./forwarded-connection.js";
import { freePort } from "./services.js";

/**
 * A loopback TCP forwarder to a real service (Postgres, Redis), that a test
 * can cut and restore: the outage a gateway sees when its database or Redis
 * goes away (connections reset, new ones refused), without stopping the
 * service the other tests share. Or stall: connections stay open, and what
 * clients send is held until `resume()`, as a paused (SIGSTOP) service holds
 * it unanswered.
 */
export interface TcpProxy {
  readonly port: number;
  /** Takes connections from now on (again). */
  open(): Promise<void>;
  /** Stops taking connections (they are refused) and resets those open. */
  cut(): Promise<void>;
  /** Holds what clients send, on the connections open and those to come, until `resume()`. */
  stall(): void;
  /** Sends what was held, and forwards again (nothing when not stalled). */
  resume(): void;
  close(): Promise<void>;
}

/** A forwarder to `target` (host:port) on a free loopback port; not listening until `open()`. */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const forwarding = new Map<Socket, Socket>();
  let stalled = false;
  let server: Server | undefined;
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    forwarding.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  return {
    port,
    async open() {
      if (server) return;
      const listening = createServer((client) => {
        const upstream = forwardedConnection(client, target, sockets, () => forwarding.delete(client));
        forwarding.set(client, upstream);
        if (!stalled) client.pipe(upstream);
        upstream.pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(port, "127.0.0.1", () => resolve());
      });
      server = listening;
    },
    cut,
    stall() {
      stalled = true;
      for (const client of forwarding.keys()) {
        client.unpipe();
        client.pause();
      }
    },
    resume() {
      // Piping a client twice would send what it writes twice.
      if (!stalled) return;
      stalled = false;
      for (const [client, upstream] of forwarding) client.pipe(upstream);
    },
    close: cut,
  };
}

/** The same URL with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  return proxied.toString();
}

/** host and port of a URL (postgres://, redis://). */
export function addressOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}
