import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A pass-through in front of a fake vendor that holds every request until the
 * test opens the gate: identical calls then overlap for as long as the test
 * needs, whatever the machine's speed. Counts what reaches the vendor.
 */
export interface GatedVendor {
  /** The base URL to configure (the fake's path kept). */
  baseUrl: string;
  /** Requests received (held or passed on). */
  readonly received: number;
  open(): void;
  close(): Promise<void>;
}

export async function startGatedVendor(upstreamBaseUrl: string): Promise<GatedVendor> {
  const upstream = new URL(upstreamBaseUrl);
  let received = 0;
  let opened!: () => void;
  const gate = new Promise<void>((resolve) => (opened = resolve));
  const server: Server = createServer(async (req, res) => {
    received++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await gate;
    const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forwarded.on("error", () => res.destroy());
    forwarded.end(Buffer.concat(chunks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname}`,
    get received() {
      return received;
    },
    open: opened,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
