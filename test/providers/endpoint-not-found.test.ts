// A base URL without its /v1 (OLLAMA_BASE_URL=http://127.0.0.1:11434, Ollama's own address form) was told
// as "model not found": every vendor 404 was read as an unknown model, the message named neither the path
// called nor the base URL, and docs/errors.md sent the operator to check the model name. A 404 outside the
// vendor's own error shape (a web server's page, HTML, FastAPI's {"detail":"Not Found"}, the vendor's "no
// such URL") is the endpoint's: Unavailable, UPSTREAM_ENDPOINT_NOT_FOUND, naming the path and the setting.
// The vendor's own "no such model" stays UPSTREAM_MODEL_NOT_FOUND.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createSwitchboard, type Switchboard } from "../../src/app.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { anthropicHttpError } from "../../src/providers/anthropic/errors.js";
import { dashScopeError, parseDashScopeError } from "../../src/providers/dashscope/errors.js";
import { geminiHttpError } from "../../src/providers/gemini/errors.js";
import { fromOpenAIHttpError, toOpenAIError } from "../../src/providers/openai/errors.js";
import { qianfanStatusError } from "../../src/providers/qianfan-v1/errors.js";
import { createCredential } from "../../src/secrets/credential.js";
import { failure } from "../support/failure.js";
import { LogCapture, MASTER_KEY } from "../support/gateway.js";

const ctx = { provider: "p", credential: createCredential("p/k", "sk-endpoint-test-0123456789") };
/** An account id a proxy's base URL path holds: operator configuration, kept from callers. */
const ACCOUNT = "acct-7f3a9c2e";
const HTML_404 = "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>";

describe("a vendor's 404, by dialect", () => {
  const readers: Record<string, (text: string) => string> = {
    openai: (text) => fromOpenAIHttpError(404, {}, text, ctx).kind,
    anthropic: (text) => anthropicHttpError(404, {}, text, ctx).kind,
    gemini: (text) => geminiHttpError(404, {}, text, ctx).kind,
    dashscope: (text) => dashScopeError(ctx, parseDashScopeError(text), { status: 404, headers: {} }).kind,
    "qianfan-v1": (text) => qianfanStatusError(ctx, 404, text).kind,
  };

  it.each(Object.keys(readers))("%s: a page that is not the vendor's error is the endpoint's", (dialect) => {
    for (const text of [HTML_404, "404 page not found", '{"detail":"Not Found"}', '{"message":"no Route matched with those values"}', ""]) {
      expect(readers[dialect]!(text), text).toBe("endpoint_not_found");
    }
  });

  it.each([
    ["openai", '{"error":{"message":"The model `gpt-5o` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}'],
    // Ollama's own answer for a model it has not pulled.
    ["openai", '{"error":{"message":"model \\"llama9\\" not found, try pulling it first","type":"api_error","param":null,"code":null}}'],
    ["anthropic", '{"type":"error","error":{"type":"not_found_error","message":"model: claude-sonet-4-5"}}'],
    ["gemini", '{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}'],
    ["dashscope", '{"code":"ModelNotFound","message":"Model not found (qwen-maxx)","request_id":"r"}'],
  ])("%s: the vendor's own word on the model stays model_not_found", (dialect, text) => {
    expect(readers[dialect]!(text)).toBe("model_not_found");
  });

  it("the vendors' own answers to a path they do not serve are the endpoint's", () => {
    expect(readers.openai!('{"error":{"message":"Invalid URL (POST /chat/completions)","type":"invalid_request_error","param":null,"code":null}}')).toBe("endpoint_not_found");
    expect(readers.openai!('{"error":{"message":"Unknown request URL: POST /chat/completions","type":"invalid_request_error"}}')).toBe("endpoint_not_found");
    expect(readers.anthropic!('{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}')).toBe("endpoint_not_found");
  });
});

describe("a provider whose base URL lacks its /v1", () => {
  // The vendor: a server that serves only /v1, answering anything else as Ollama's web server does.
  let vendor: Server;
  let port: number;
  let url: string;
  let app: Switchboard;
  let dataDir: string;
  const logs = new LogCapture();
  const caller: CallContext = { principal: { keyId: "k", name: "k", admin: false }, signal: new AbortController().signal, requestId: "r" };
  const chat = (model: string) => app.gateway.chat(create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }] }), caller);

  beforeAll(async () => {
    vendor = createServer((req, res) => {
      if (req.url?.startsWith("/v1/")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: 'model "llama9" not found, try pulling it first', type: "api_error", param: null, code: null } }));
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found");
    });
    await new Promise<void>((resolve) => vendor.listen(0, "127.0.0.1", resolve));
    port = (vendor.address() as AddressInfo).port;
    dataDir = mkdtempSync(join(tmpdir(), "switchboard-endpoint-"));
    const env = {
      SWITCHBOARD_MASTER_KEY: MASTER_KEY,
      OLLAMA_BASE_URL: `http://127.0.0.1:${port}`,
      VLLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
      // Behind a proxy whose path names the account (as Cloudflare AI Gateway's /v1/<account>/<gateway>/openai does), and without the /v1.
      DEEPSEEK_BASE_URL: `http://127.0.0.1:${port}/proxy/${ACCOUNT}/gw-prod/deepseek`,
      DEEPSEEK_API_KEY: "sk-deepseek-endpoint-0123456789",
    };
    const config = buildConfig({}, { ...env, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dataDir }, "test");
    app = await createSwitchboard(config, { env, logDestination: logs, defaultMetrics: false });
    url = `http://127.0.0.1:${(await app.listen()).port}`;
  });

  afterAll(async () => {
    await app?.shutdown();
    await new Promise((resolve) => vendor?.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("is told as the endpoint not found, naming the path called and the setting, not the host", async () => {
    const err = await failure(chat("ollama/llama3.1"));
    expect(err.code).toBe(Code.Unavailable);
    expect(reasonOf(err)).toBe("UPSTREAM_ENDPOINT_NOT_FOUND");
    expect(err.rawMessage).toContain('provider "ollama" answered HTTP 404 to POST /chat/completions');
    expect(err.rawMessage).toContain("OLLAMA_BASE_URL or providers.ollama.base_url likely lacks /v1");
    expect(err.rawMessage).not.toContain(`127.0.0.1:${port}`);
    // The OpenAI SDKs would retry a 503 at once: an operator has to act first.
    const rest = toOpenAIError(err);
    expect(rest.status).toBe(503);
    expect(rest.headers["x-should-retry"]).toBe("false");
  });

  it("tells callers only the dialect's path, and the operator's log line the base URL's path too", async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "deepseek/deepseek-chat", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(503);
    const told = await res.text();
    const { message } = JSON.parse(told).error;
    expect(message).toContain('provider "deepseek" answered HTTP 404 to POST /chat/completions, a path it does not serve');
    expect(message).toContain("DEEPSEEK_BASE_URL or providers.deepseek.base_url");
    expect(told).not.toContain(ACCOUNT);
    expect(told).not.toContain("/proxy");
    // The operator's line has the whole path under the host (not the host, nor the key).
    const line = logs.entries.find((entry) => entry.msg === "call failed" && entry.provider === "deepseek");
    expect(line?.error).not.toContain(ACCOUNT);
    expect(line?.errorDetail).toBe(`POST /proxy/${ACCOUNT}/gw-prod/deepseek/chat/completions`);
    expect(logs.text).not.toContain("sk-deepseek-endpoint-0123456789");
  });

  it("leaves the vendor's own unknown model as it was", async () => {
    const err = await failure(chat("vllm/llama9"));
    expect(err.code).toBe(Code.NotFound);
    expect(reasonOf(err)).toBe("UPSTREAM_MODEL_NOT_FOUND");
  });

  it("warns, naming the provider and the path, when its model list answers so", async () => {
    await app.gateway.listModels("", caller);
    const warning = logs.entries.find((line) => line.level === "warn" && line.provider === "ollama" && /could not list/.test(line.msg));
    expect(warning?.error).toContain("GET /models");
    expect(warning?.error).toContain("OLLAMA_BASE_URL");
  });
});
