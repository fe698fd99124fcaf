// The CORS preflight of a browser app calling the gateway's REST surfaces with
// the official OpenAI and Anthropic SDKs (dangerouslyAllowBrowser): every
// header the SDK sets is one the preflight must allow, or the browser never
// sends the call. The header names are taken from the installed SDKs, not
// from a list kept by hand, so that a new SDK header shows up here.
import Anthropic from "@anthropic-ai/sdk";
import * as http from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const ORIGIN = "https://app.example.com";
/** Headers a browser sends on its own or without a preflight (CORS-safelisted with the SDKs' values). */
const NOT_PREFLIGHTED = new Set(["accept", "content-length"]);

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { cors_origins: [ORIGIN] } });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

/** The names of the headers an SDK call sets, as its fetch sees them (lower case, as a browser lists them in a preflight). */
async function headersSetBy(call: (fetch: typeof globalThis.fetch) => Promise<unknown>): Promise<string[]> {
  let names: string[] = [];
  const capture: typeof globalThis.fetch = async (_url, init) => {
    names = [...new Headers(init?.headers).keys()];
    throw new Error("captured");
  };
  await call(capture).catch(() => {});
  expect(names.length, "the SDK called fetch").toBeGreaterThan(0);
  return names.filter((name) => !NOT_PREFLIGHTED.has(name)).sort();
}

/** An OPTIONS preflight from ORIGIN asking to `method` (POST) `path` with `requested` headers; the allowed ones, lower-cased. */
function preflight(path: string, requested: readonly string[], method = "POST"): Promise<{ status: number; allowed: Set<string>; methods: Set<string>; vary: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: gw.port,
        method: "OPTIONS",
        path,
        agent: false,
        headers: { origin: ORIGIN, "access-control-request-method": method, "access-control-request-headers": requested.join(",") },
      },
      (res) => {
        res.resume();
        const allowed = String(res.headers["access-control-allow-headers"] ?? "").split(",").map((name) => name.trim().toLowerCase());
        const methods = String(res.headers["access-control-allow-methods"] ?? "").split(",").map((name) => name.trim());
        res.on("end", () => resolve({ status: res.statusCode ?? 0, allowed: new Set(allowed), methods: new Set(methods), vary: String(res.headers.vary ?? "") }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("a browser app's preflight for the official SDKs", () => {
  it("allows every header the Anthropic SDK sends to /v1/messages, beta headers included", async () => {
    const names = await headersSetBy((fetch) =>
      new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, dangerouslyAllowBrowser: true, maxRetries: 0, fetch }).beta.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
        betas: ["interleaved-thinking-2025-05-14"],
      }),
    );
    expect(names).toEqual(expect.arrayContaining(["anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access", "x-stainless-retry-count", "x-stainless-timeout"]));
    const answer = await preflight("/v1/messages?beta=true", names);
    expect(answer.status).toBe(204);
    expect(names.filter((name) => !answer.allowed.has(name))).toEqual([]);
  });

  it("allows every header the Anthropic SDK's stream helper sends", async () => {
    const names = await headersSetBy(async (fetch) => {
      const stream = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, dangerouslyAllowBrowser: true, maxRetries: 0, fetch }).messages.stream({
        model: "gpt-4o-mini",
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
      });
      return stream.finalMessage();
    });
    expect(names.filter((name) => name.startsWith("x-stainless-helper"))).not.toEqual([]);
    const answer = await preflight("/v1/messages", names);
    expect(names.filter((name) => !answer.allowed.has(name))).toEqual([]);
  });

  it("allows every header the OpenAI SDK sends to /v1/chat/completions, with an organization and project set", async () => {
    const names = await headersSetBy((fetch) =>
      new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, organization: "org-1", project: "proj-1", dangerouslyAllowBrowser: true, maxRetries: 0, timeout: 30_000, fetch }).chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect(names).toEqual(expect.arrayContaining(["authorization", "openai-organization", "openai-project", "x-stainless-retry-count"]));
    const answer = await preflight("/v1/chat/completions", names);
    expect(names.filter((name) => !answer.allowed.has(name))).toEqual([]);
  });

  it("lets the OpenAI SDK delete a stored response, and shows the headers the agent surfaces answer with", async () => {
    const names = await headersSetBy((fetch) =>
      new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, dangerouslyAllowBrowser: true, maxRetries: 0, fetch }).responses.delete("resp_1"),
    );
    const answer = await preflight("/v1/responses/resp_1", names, "DELETE");
    expect(answer.methods.has("DELETE")).toBe(true);
    expect(names.filter((name) => !answer.allowed.has(name))).toEqual([]);
    const res = await fetch(`${gw.url}/v1/models`, { headers: { origin: ORIGIN, authorization: `Bearer ${MASTER_KEY}` } });
    const exposed = String(res.headers.get("access-control-expose-headers")).toLowerCase().split(", ");
    // Anthropic's request-id (/v1/messages) and whether a Responses answer was stored.
    expect(exposed).toEqual(expect.arrayContaining(["request-id", "x-switchboard-not-stored", "x-request-id"]));
  });

  it("names back only the x-stainless-* headers asked for, and no header outside the allowed ones", async () => {
    const answer = await preflight("/v1/messages", ["x-stainless-some-future-header", "x-evil", "x-stainless-", "content-type"]);
    expect(answer.allowed.has("x-stainless-some-future-header")).toBe(true);
    expect(answer.allowed.has("x-evil")).toBe(false);
    expect(answer.allowed.has("x-stainless-")).toBe(false);
    expect(answer.allowed.has("*")).toBe(false);
    expect(answer.allowed.has("content-type")).toBe(true);
    expect(answer.vary.toLowerCase()).toContain("access-control-request-headers");
  });

  it("the operator's endpoints (/metrics, /healthz, /readyz) answer no CORS: no web page may read them, whatever its origin", async () => {
    for (const path of ["/metrics", "/healthz", "/readyz"]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { origin: ORIGIN } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("access-control-allow-origin"), path).toBeNull();
    }
    // The API itself still answers the allowed origin.
    const api = await fetch(`${gw.url}/v1/models`, { headers: { origin: ORIGIN, authorization: `Bearer ${MASTER_KEY}` } });
    expect(api.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });
});
