import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { createSwitchboard, type Switchboard } from "../../src/app.js";
import { buildConfig } from "../../src/config/load-config.js";
import type { ConfigFile } from "../../src/config/schema.js";

export const MASTER_KEY = "sk-test-master-key-0123456789";

/** Log lines captured from a gateway, as parsed JSON and as raw text (for secret scans). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  get entries(): Record<string, any>[] {
    return this.lines.map((line) => JSON.parse(line));
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

export interface TestGateway {
  app: Switchboard;
  url: string;
  port: number;
  logs: LogCapture;
  /** A transport per protocol, all authenticated with the master key unless `key` says otherwise. */
  transport(protocol: Protocol, key?: string | null): Transport;
  client(protocol?: Protocol, key?: string | null): Client<typeof AIService>;
  stop(): Promise<void>;
}

export type Protocol = "grpc" | "grpc-web" | "connect" | "connect-h2" | "grpc-web-h2";

/** Starts a real gateway on an ephemeral loopback port with the given environment and config file contents. */
export async function startGateway(env: NodeJS.ProcessEnv, file: ConfigFile = {}): Promise<TestGateway> {
  // A data directory the caller gives is kept (to restart a gateway on it); a temporary one is removed on stop.
  const ownDataDir = env.SWITCHBOARD_DATA_DIR === undefined;
  const dataDir = env.SWITCHBOARD_DATA_DIR ?? mkdtempSync(join(tmpdir(), "switchboard-test-"));
  const fullEnv = { SWITCHBOARD_MASTER_KEY: MASTER_KEY, ...env };
  const config = buildConfig(file, { ...fullEnv, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dataDir }, "test");
  config.server.shutdownGraceMs = 5_000;
  const logs = new LogCapture();
  const app = await createSwitchboard(config, { env: fullEnv, logDestination: logs, defaultMetrics: false, metricsReuseMs: 0 });
  const address = await app.listen();
  const url = `http://127.0.0.1:${address.port}`;

  const transport = (protocol: Protocol, key: string | null = MASTER_KEY): Transport => {
    const interceptors = key === null ? [] : [(next: any) => (req: any) => (req.header.set("authorization", `Bearer ${key}`), next(req))];
    switch (protocol) {
      case "grpc":
        return createGrpcTransport({ baseUrl: url, interceptors });
      case "grpc-web":
        return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
      case "grpc-web-h2":
        return createGrpcWebTransport({ baseUrl: url, httpVersion: "2", interceptors });
      case "connect":
        return createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
      case "connect-h2":
        return createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, interceptors });
    }
  };
  return {
    app,
    url,
    port: address.port,
    logs,
    transport,
    client: (protocol = "connect", key) => createClient(AIService, transport(protocol, key)),
    async stop() {
      await app.shutdown();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const PROTOCOLS: Protocol[] = ["grpc", "grpc-web", "grpc-web-h2", "connect", "connect-h2"];
