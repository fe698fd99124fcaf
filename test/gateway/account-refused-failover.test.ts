// A vendor refusing the gateway's own account (a model not purchased or activated for it, a key whose project
// may not use what was asked, a region the vendor does not serve) is the operator's problem, not the caller's:
// it fails over to the pool's other keys and the route's fallbacks, and with nowhere else to go the caller gets
// PermissionDenied UPSTREAM_ACCOUNT_REFUSED saying whose it is, never InvalidArgument. The key stays in rotation
// (a refusal of one model says nothing of its others). 403s about what the caller asked for stay its own.
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { breakerVerdict, failureAction, isKeyScoped } from "../../src/gateway/retry-policy.js";
import { anthropicHttpError } from "../../src/providers/anthropic/errors.js";
import { dashScopeError, parseDashScopeError } from "../../src/providers/dashscope/errors.js";
import { geminiHttpError } from "../../src/providers/gemini/errors.js";
import { fromOpenAIHttpError } from "../../src/providers/openai/errors.js";
import { qianfanError } from "../../src/providers/qianfan-v1/errors.js";
import type { UpstreamErrorKind } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import type { FakeServer, Scripted } from "../fakes/fake-server.js";
import { googleError, startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startQianfanFake, type QianfanFake } from "../fakes/qianfan-v1-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>;
const GEMINI_KEY = "AIzaSyAccountRefused0123456789abcdefXY";
const DASHSCOPE_KEY = "sk-dashscope-account-refused-0123456789";
const QIANFAN_AK = "qianfan-account-refused-ak-0123456789";
const QIANFAN_SK = "qianfan-account-refused-sk-0123456789";
const OPENAI_KEYS = ["sk-openai-account-one-0123456789", "sk-openai-account-two-0123456789"];
const FALLBACK = "openai/gpt-4o-mini";

// The vendors' own refusals of the gateway's account.
const geminiRefused = () => googleError(403, "PERMISSION_DENIED", "The caller does not have permission");
const unpurchased = (): Scripted => ({ kind: "error", status: 403, body: { code: "AccessDenied.Unpurchased", message: "Access to model denied. Please make sure you are eligible for using the model.", request_id: "req-1" } });
const notActivated = (): Scripted => ({ kind: "error", status: 200, body: { error_code: 6, error_msg: "No permission to access data" } });
const REGION_REFUSED = { error: { message: "Country, region, or territory not supported", type: "request_forbidden", param: null, code: "unsupported_country_region_territory" } };
const regionRefused = (): Scripted => ({ kind: "error", status: 403, body: REGION_REFUSED });

const ctx = (provider: string) => ({ provider, credential: createCredential(`${provider}/test`, "sk-vendor-secret-0123456789") });

describe("classification: the account's refusals, by the vendor's code", () => {
  it.each<[string, UpstreamErrorKind, () => UpstreamErrorKind]>([
    ["Gemini 403 PERMISSION_DENIED without a key's ErrorInfo", "account_refused", () => geminiHttpError(403, {}, JSON.stringify({ error: { code: 403, message: "The caller does not have permission", status: "PERMISSION_DENIED" } }), ctx("gemini")).kind],
    ["Gemini 403 to a call sent without a key: the credential", "credential_rejected", () => geminiHttpError(403, {}, JSON.stringify({ error: { code: 403, message: "Method doesn't allow unregistered callers (callers without established identity).", status: "PERMISSION_DENIED" } }), ctx("gemini")).kind],
    ["Gemini 403 about the caller's cachedContent stays the caller's", "bad_request", () => geminiHttpError(403, {}, JSON.stringify({ error: { code: 403, message: "CachedContent not found (or permission denied)", status: "PERMISSION_DENIED" } }), ctx("gemini")).kind],
    ["DashScope AccessDenied.Unpurchased", "account_refused", () => dashScopeError(ctx("dashscope"), parseDashScopeError(JSON.stringify({ code: "AccessDenied.Unpurchased", message: "Access to model denied." })), { status: 403, headers: {} }).kind],
    ["DashScope AccessDenied in a stream (no status)", "account_refused", () => dashScopeError(ctx("dashscope"), { code: "AccessDenied", message: "Access denied." }).kind],
    ["DashScope compatible mode AccessDenied.Unpurchased", "account_refused", () => fromOpenAIHttpError(403, {}, JSON.stringify({ error: { code: "AccessDenied.Unpurchased", message: "Access to model denied.", type: "AccessDenied.Unpurchased" } }), ctx("dashscope")).kind],
    ["ERNIE v1 error_code 6", "account_refused", () => qianfanError(ctx("qianfan"), { error_code: 6, error_msg: "No permission to access data" }, 200).kind],
    ["ERNIE v1 336004 stays the caller's", "bad_request", () => qianfanError(ctx("qianfan"), { error_code: 336004, error_msg: "Permission error for current user" }, 200).kind],
    ["OpenAI 403 unsupported_country_region_territory", "account_refused", () => fromOpenAIHttpError(403, {}, JSON.stringify(REGION_REFUSED), ctx("openai")).kind],
    ["OpenAI 403 with no such code stays the caller's", "bad_request", () => fromOpenAIHttpError(403, {}, JSON.stringify({ error: { message: "You are not allowed to use this feature", type: "invalid_request_error" } }), ctx("openai")).kind],
    ["Anthropic 403 permission_error stays the caller's", "bad_request", () => anthropicHttpError(403, {}, JSON.stringify({ type: "error", error: { type: "permission_error", message: "Your API key does not have permission to use the specified resource." } }), ctx("anthropic")).kind],
  ])("%s → %s", (_, kind, classify) => {
    expect(classify()).toBe(kind);
  });

  it("fails over to another key at once, then another candidate, and tells the breaker nothing", () => {
    const err = qianfanError(ctx("qianfan"), { error_code: 6, error_msg: "No permission to access data" }, 200);
    expect(failureAction(err)).toBe("next_key");
    expect(isKeyScoped(err)).toBe(true);
    expect(breakerVerdict(err)).toBe("neutral");
  });

  it("scrubs the vendor key from the vendor's message, as every upstream message is", () => {
    const credential = ctx("dashscope").credential;
    const err = dashScopeError({ provider: "dashscope", credential }, { code: "AccessDenied", message: `Access denied for key ${credential.secret}` }, { status: 403, headers: {} });
    expect(err.message).toContain("refused the gateway's own account");
    expect(err.message).not.toContain(credential.secret);
  });
});

let gemini: GeminiFake;
let dashscope: DashScopeFake;
let qianfan: QianfanFake;
let openai: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: GEMINI_KEY });
  dashscope = await startDashScopeFake({ apiKey: DASHSCOPE_KEY });
  qianfan = await startQianfanFake({ apiKey: QIANFAN_AK, secretKey: QIANFAN_SK });
  openai = await startOpenAIFake({ apiKey: OPENAI_KEYS[0]!, extraKeys: [OPENAI_KEYS[1]!] });
  gw = await startGateway(
    {
      GEMINI_API_KEY: GEMINI_KEY,
      GEMINI_BASE_URL: gemini.baseUrl,
      DASHSCOPE_API_KEY: DASHSCOPE_KEY,
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      QIANFAN_AK,
      QIANFAN_SK,
      QIANFAN_BASE_URL: qianfan.baseUrl,
      OPENAI_ONE: OPENAI_KEYS[0],
      OPENAI_TWO: OPENAI_KEYS[1],
    },
    {
      providers: {
        openai: {
          base_url: openai.baseUrl,
          keys: [
            { id: "one", secret: "env:OPENAI_ONE", weight: 1 },
            { id: "two", secret: "env:OPENAI_TWO", weight: 1 },
          ],
        },
      },
      routes: [
        { model: "gemini-2.5-flash", provider: "gemini", fallbacks: [FALLBACK] },
        { model: "qwen-plus", provider: "dashscope", fallbacks: [FALLBACK] },
        { model: "ernie-4.0-8k", provider: "qianfan", fallbacks: [FALLBACK] },
        { model: "gpt-4o-mini", provider: "openai", fallbacks: ["gemini/gemini-2.5-flash"] },
      ],
      // The key pool as shipped: a bench or a disabled key would show.
    },
  );
  // A cached access token, so each script meets a chat call.
  await gw.client().chat(ask("ernie-4.0-8k"));
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([gemini?.close(), dashscope?.close(), qianfan?.close(), openai?.close()]);
});

const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hello there" }] });
const reasonOf = (err: ConnectError) => err.findDetails(ErrorInfoSchema)[0];

async function providerHealth(provider: string): Promise<string> {
  const res = await fetch(`${gw.url}/healthz`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  return ((await res.json()) as Json).providers?.[provider]?.status;
}

const VENDORS: [string, string, () => FakeServer, () => Scripted, string][] = [
  ["gemini", "gemini-2.5-flash", () => gemini, geminiRefused, "The caller does not have permission"],
  ["dashscope", "qwen-plus", () => dashscope, unpurchased, "Access to model denied"],
  ["qianfan", "ernie-4.0-8k", () => qianfan, notActivated, "No permission to access data"],
];

describe.each(VENDORS)("%s refusing the gateway's account", (provider, model, fake, refusal, vendorWords) => {
  it("the route's fallback serves", async () => {
    fake().enqueue(refusal());
    const res = await gw.client().chat(ask(model));
    expect(res.provider).toBe("openai");
    expect(res.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
      [provider, "account_refused"],
      ["openai", "ok"],
    ]);
  });

  it("with nowhere else to go: PermissionDenied UPSTREAM_ACCOUNT_REFUSED, the gateway's account named, not the request", async () => {
    fake().enqueue(refusal());
    // Named with its provider, the model has no route and so no fallback.
    const err = await failure(gw.client().chat(ask(`${provider}/${model}`)));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(reasonOf(err)?.reason).toBe("UPSTREAM_ACCOUNT_REFUSED");
    expect(reasonOf(err)?.metadata.provider).toBe(provider);
    expect(err.rawMessage).toContain(`provider "${provider}" refused the gateway's own account`);
    expect(err.rawMessage).toContain(vendorWords);
    // The operator's signal: the call's line, a warning.
    const line = gw.logs.entries.findLast((entry) => entry.msg === "call failed");
    expect(line).toMatchObject({ level: "warn", status: "permission_denied", provider });
    expect(line?.error).toContain("refused the gateway's own account");
  });

  it("the key stays in rotation: the next call is served by it", async () => {
    const res = await gw.client().chat(ask(`${provider}/${model}`));
    expect(res.provider).toBe(provider);
    expect(await providerHealth(provider)).toBe("serving");
  });
});

describe("openai refusing one key's account (its region)", () => {
  it("the pool's other key serves at once", async () => {
    const before = openai.requests.length;
    openai.enqueue(regionRefused());
    const res = await gw.client().chat(ask(FALLBACK));
    expect(res.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
      ["openai", "account_refused"],
      ["openai", "ok"],
    ]);
    const keys = openai.requests.slice(before).map((request) => request.headers.authorization);
    expect(new Set(keys).size).toBe(2);
  });

  it("every key refused: the route's fallback on another provider serves", async () => {
    openai.enqueue(regionRefused(), regionRefused());
    const res = await gw.client().chat(ask("gpt-4o-mini"));
    expect(res.provider).toBe("gemini");
    expect(res.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
      ["openai", "account_refused"],
      ["openai", "account_refused"],
      ["gemini", "ok"],
    ]);
  });

  it("every key refused, nowhere else to go: a 403 permission_error upstream_account_refused on the REST surface, no key in it", async () => {
    openai.enqueue(regionRefused(), regionRefused());
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: FALLBACK, messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    const error = (JSON.parse(text) as Json).error;
    expect(error).toMatchObject({ type: "permission_error", code: "upstream_account_refused" });
    expect(error.message).toContain("Country, region, or territory not supported");
    for (const key of OPENAI_KEYS) expect(text).not.toContain(key);
  });
});

describe("403s about what the caller asked for stay its own", () => {
  it("OpenAI 403 without the account's code: InvalidArgument, no failover", async () => {
    const geminiCalls = gemini.requests.length;
    openai.enqueue({ kind: "error", status: 403, body: { error: { message: "You are not allowed to use this feature", type: "invalid_request_error", param: null, code: null } } });
    const err = await failure(gw.client().chat(ask("gpt-4o-mini")));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(reasonOf(err)?.reason).toBe("UPSTREAM_BAD_REQUEST");
    expect(gemini.requests.length).toBe(geminiCalls);
  });

  it("Gemini 403 about the caller's cachedContent: InvalidArgument, no failover", async () => {
    const openaiCalls = openai.requests.length;
    gemini.enqueue(googleError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)"));
    const err = await failure(gw.client().chat(ask("gemini-2.5-flash")));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(openai.requests.length).toBe(openaiCalls);
  });
});
