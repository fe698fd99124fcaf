import * as net from "node:net";
import * as tls from "node:tls";
import type { Counter } from "prom-client";
import { afterEach } from "vitest";

/** What a test undoes after each of its cases, last first. */
export type Cleanup = (() => unknown)[];

/** A cleanup list for the calling file, run after each test. */
export function useCleanup(): Cleanup {
  const cleanup: Cleanup = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });
  return cleanup;
}

/** A raw connection and what the server sent on it. */
export interface RawClient {
  socket: net.Socket;
  received(): string;
  /** Settles when the connection closes; the tests never close one themselves before it should have been. */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** Opens a TCP connection from `from` (or TLS with the given ALPN protocol), resolved once connected; destroyed at cleanup. */
export function openRawClient(port: number, cleanup: Cleanup, options: { from?: string; alpn?: string } = {}): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const address = { host: "127.0.0.1", port, localAddress: options.from ?? "127.0.0.1" };
    const socket = options.alpn ? tls.connect({ ...address, rejectUnauthorized: false, ALPNProtocols: [options.alpn] }) : net.connect(address);
    let text = "";
    let isClosed = false;
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    const closed = new Promise<void>((done) =>
      socket.once("close", () => {
        isClosed = true;
        done();
      }),
    );
    socket.once("error", reject);
    socket.once(options.alpn ? "secureConnect" : "connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {}); // a reset is also a close, which is what the tests wait for
      cleanup.push(() => socket.destroy());
      resolve({ socket, received: () => text, closed, isClosed: () => isClosed });
    });
  });
}

/** Writes `byte` every `everyMs` until the connection closes (or cleanup). */
export function trickle(client: RawClient, everyMs: number, cleanup: Cleanup, byte = "a"): void {
  const timer = setInterval(() => client.socket.write(byte), everyMs);
  void client.closed.then(() => clearInterval(timer));
  cleanup.push(() => clearInterval(timer));
}

/** A counter's value for one label. */
export async function counted(counter: Counter, label: Record<string, string>): Promise<number> {
  const [[name, value]] = Object.entries(label) as [[string, string]];
  return (await counter.get()).values.find((sample) => sample.labels[name] === value)?.value ?? 0;
}
