import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createSwitchboard, type Switchboard } from "../../src/app.js";
import { buildConfig } from "../../src/config/load-config.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { LogCapture, MASTER_KEY } from "../support/gateway.js";

let dir: string;
let fake: OpenAIFake;
let app: Switchboard;
let port: number;
let ca: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-tls-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { stdio: "ignore" });
  ca = readFileSync(join(dir, "cert.pem"));
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  const config = buildConfig(
    { server: { tls: { cert_file: join(dir, "cert.pem"), key_file: join(dir, "key.pem") } } },
    { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dir, SWITCHBOARD_MASTER_KEY: MASTER_KEY },
    "test",
  );
  app = await createSwitchboard(config, { env: { SWITCHBOARD_MASTER_KEY: MASTER_KEY, OPENAI_API_KEY: "sk-up" }, logDestination: new LogCapture(), defaultMetrics: false });
  port = (await app.listen()).port;
});
afterAll(async () => {
  await app.shutdown();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "over tls" }] };

describe("with TLS configured, the same port", () => {
  it("serves gRPC over HTTP/2 (ALPN h2)", async () => {
    const transport = createGrpcTransport({
      baseUrl: `https://localhost:${port}`,
      nodeOptions: { ca },
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${MASTER_KEY}`), next(req))],
    });
    const res = await createClient(AIService, transport).chat(hello);
    expect(res.message?.content).toBe("Echo: over tls");
  });

  it("serves HTTP/1.1 clients (ALPN http/1.1) such as curl and browsers", async () => {
    const body = await new Promise<{ status: number; text: string; alpn: string }>((resolve, reject) => {
      const req = request(
        // ALPNProtocols is a TLS socket option that https.request passes on.
        { host: "127.0.0.1", port, servername: "localhost", path: "/v1/models", ca, ALPNProtocols: ["http/1.1"], headers: { authorization: `Bearer ${MASTER_KEY}` } } as RequestOptions,
        (res) => {
          let text = "";
          const alpn = String((res.socket as { alpnProtocol?: string }).alpnProtocol);
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text, alpn }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(body.status).toBe(200);
    expect(body.alpn).toBe("http/1.1");
    expect(JSON.parse(body.text).data.map((m: { id: string }) => m.id)).toContain("gpt-4o-mini");
  });
});

describe("a TLS configuration that cannot serve", () => {
  const env = { PORT: "0", SWITCHBOARD_DATA_DIR: "/nonexistent" };
  it("stops at start-up naming the field, when a file cannot be read", () => {
    const tls = { cert_file: join(dir, "cert.pem"), key_file: join(dir, "missing.pem") };
    expect(() => buildConfig({ server: { tls } }, env, "switchboard.yaml")).toThrow(`switchboard.yaml: server.tls.key_file: cannot read "${tls.key_file}" (ENOENT)`);
  });

  it("stops at start-up, at once, when a file is a named pipe (it waited for a writer for ever)", () => {
    const fifo = join(dir, "key.fifo");
    execFileSync("mkfifo", [fifo]);
    const tls = { cert_file: join(dir, "cert.pem"), key_file: fifo };
    expect(() => buildConfig({ server: { tls } }, env, "switchboard.yaml")).toThrow(`switchboard.yaml: server.tls.key_file: "${fifo}" is a named pipe (FIFO), not a regular file`);
  });

  it("stops at start-up when the files are not a certificate and its key", () => {
    const swapped = { cert_file: join(dir, "key.pem"), key_file: join(dir, "cert.pem") };
    expect(() => buildConfig({ server: { tls: swapped } }, env, "switchboard.yaml")).toThrow(/^switchboard\.yaml: server\.tls: the certificate and key do not load \(.+\)$/);
  });
});

