// A vendor's error message echoes the caller's input ("The model `gpt-quota`
// does not exist", "model: claude-credit balance"), so it must not decide that
// the gateway's vendor key is out of quota or refused: one tenant could take the
// key away from every other. Each vendor block runs a gateway with one vendor
// key and the default key pool (a bench would show), two tenants' gateway keys,
// and ends with a genuine quota error as the control that a bench does show.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import type { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_VENDOR_RETRY_AFTER_MS } from "../../src/config/secrets-config.js";
import { anthropicHttpError } from "../../src/providers/anthropic/errors.js";
import { dashScopeError, parseDashScopeError } from "../../src/providers/dashscope/errors.js";
import { geminiHttpError } from "../../src/providers/gemini/errors.js";
import { fromOpenAIHttpError } from "../../src/providers/openai/errors.js";
import { qianfanError } from "../../src/providers/qianfan-v1/errors.js";
import { parseRetryAfter } from "../../src/providers/retry-after.js";
import type { UpstreamErrorKind } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";
import { anthropicError, startAnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake } from "../fakes/dashscope-fake.js";
import type { FakeServer, Scripted } from "../fakes/fake-server.js";
import { googleError, startGeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startQianfanFake } from "../fakes/qianfan-v1-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>;
const ECHO = "quota billing balance credit balance";
const ctx = (provider: string) => ({ provider, credential: createCredential(`${provider}/test`, "sk-vendor-secret-0123456789") });
const errorInfo = (reason: string) => ({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "googleapis.com" });

describe("classification: the vendor's status and code first, its message only anchored", () => {
  it.each<[string, number, Json, UpstreamErrorKind]>([
    ["a 404 echoing the model", 404, { error: { message: "The model `gpt-quota` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found" } }, "model_not_found"],
    ["a 404 with no code", 404, { error: { message: `The model \`gpt-${ECHO}\` does not exist` } }, "model_not_found"],
    ["a 400 echoing a parameter", 400, { error: { message: `Unrecognized request argument supplied: ${ECHO}`, type: "invalid_request_error", code: null } }, "bad_request"],
    ["a 403 about a model the project may not use", 403, { error: { message: "Project `proj_1` does not have access to model `gpt-quota`", type: "invalid_request_error", code: "model_not_found" } }, "model_not_found"],
    ["a 403 without a key code", 403, { error: { message: `You are not allowed to use ${ECHO}`, type: "permission_denied_error" } }, "bad_request"],
    ["a 401 about a parameter (Qianfan v2)", 401, { error: { message: "no permission to use parameter quota", type: "invalid_request_error", code: "no_parameter_permission" } }, "bad_request"],
    ["genuine: 429 insufficient_quota", 429, { error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } }, "quota_exhausted"],
    ["genuine: DeepSeek 402", 402, { error: { message: "Insufficient Balance", type: "unknown_error" } }, "quota_exhausted"],
    ["genuine: Moonshot exceeded_current_quota_error", 403, { error: { message: "Your account is not active, check your account balance", type: "exceeded_current_quota_error" } }, "quota_exhausted"],
    ["genuine: DashScope compatible-mode Arrearage", 400, { error: { message: "Access denied, please make sure your account is in good standing.", type: "Arrearage", code: "Arrearage" } }, "quota_exhausted"],
    ["genuine: an invalid key", 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } }, "credential_rejected"],
    ["genuine: an invalid key answered with 403", 403, { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } }, "credential_rejected"],
  ])("OpenAI dialect: %s", (_, status, body, kind) => {
    expect(fromOpenAIHttpError(status, {}, JSON.stringify(body), ctx("openai")).kind).toBe(kind);
  });

  it.each<[string, number, string, string, UpstreamErrorKind]>([
    ["an unknown model", 404, "not_found_error", "model: claude-credit balance", "model_not_found"],
    ["an unknown top-level field named like the balance sentence", 400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API: Extra inputs are not permitted", "bad_request"],
    ["a field echoing the words", 400, "invalid_request_error", `messages.0.content: ${ECHO} is too low`, "bad_request"],
    ["a permission error about a resource the caller named", 403, "permission_error", "Your API key does not have permission to use the specified resource.", "bad_request"],
    ["genuine: the empty prepaid balance", 400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", "quota_exhausted"],
    ["genuine: billing_error", 402, "billing_error", "Your account has an outstanding balance.", "quota_exhausted"],
    ["genuine: an invalid key", 401, "authentication_error", "invalid x-api-key", "credential_rejected"],
  ])("Anthropic: %s", (_, status, type, message, kind) => {
    expect(anthropicHttpError(status, {}, JSON.stringify({ type: "error", error: { type, message } }), ctx("anthropic")).kind).toBe(kind);
  });

  it.each<[string, number, Json, UpstreamErrorKind]>([
    ["a 404 echoing the model", 404, { code: 404, message: `models/gemini-${ECHO} is not found for API version v1beta`, status: "NOT_FOUND" }, "model_not_found"],
    ["a 404 echoing Google's key sentence", 404, { code: 404, message: "models/API key not valid is not found for API version v1beta", status: "NOT_FOUND" }, "model_not_found"],
    ["a 400 echoing the words", 400, { code: 400, message: `Invalid value at 'contents[0].parts[0]' (${ECHO})`, status: "INVALID_ARGUMENT" }, "bad_request"],
    ["a 403 about another project's cachedContent", 403, { code: 403, message: "CachedContent not found (or permission denied)", status: "PERMISSION_DENIED" }, "bad_request"],
    ["a 403 about a file the caller named", 403, { code: 403, message: "You do not have permission to access the File quota-balance or it may not exist.", status: "PERMISSION_DENIED" }, "bad_request"],
    ["genuine: API_KEY_INVALID (a 400)", 400, { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [errorInfo("API_KEY_INVALID")] }, "credential_rejected"],
    ["genuine: a 403 for a blocked key", 403, { code: 403, message: "Requests to this API are blocked.", status: "PERMISSION_DENIED", details: [errorInfo("API_KEY_SERVICE_BLOCKED")] }, "credential_rejected"],
    ["genuine: a leaked key", 403, { code: 403, message: "Your API key was reported as leaked. Please use another API key.", status: "PERMISSION_DENIED" }, "credential_rejected"],
    ["genuine: billing disabled", 403, { code: 403, message: "Billing is disabled for the project.", status: "PERMISSION_DENIED", details: [errorInfo("BILLING_DISABLED")] }, "quota_exhausted"],
  ])("Gemini: %s", (_, status, error, kind) => {
    expect(geminiHttpError(status, {}, JSON.stringify({ error }), ctx("gemini")).kind).toBe(kind);
  });

  it.each<[string, number, Json, UpstreamErrorKind]>([
    ["an unmapped code echoing the model", 400, { code: "invalid_parameter_error", message: `The provided model 'qwen-${ECHO}' is not supported.` }, "bad_request"],
    ["a 404 echoing the words", 404, { code: "NotFound", message: `Not found: ${ECHO}` }, "model_not_found"],
    ["AccessDenied.Unpurchased: a model the account has not enabled, the operator's", 403, { code: "AccessDenied.Unpurchased", message: "Access to model denied. Please make sure you are eligible for using the model." }, "account_refused"],
    ["genuine: Arrearage", 400, { code: "Arrearage", message: "Access denied, please make sure your account is in good standing." }, "quota_exhausted"],
    ["genuine: Throttling.AllocationQuota", 429, { code: "Throttling.AllocationQuota", message: "Allocated quota exceeded, please increase your quota limit." }, "quota_exhausted"],
    ["genuine: an invalid key", 401, { code: "InvalidApiKey", message: "Invalid API-key provided." }, "credential_rejected"],
  ])("DashScope: %s", (_, status, body, kind) => {
    expect(dashScopeError(ctx("dashscope"), parseDashScopeError(JSON.stringify(body)), { status, headers: {} }).kind).toBe(kind);
  });

  it.each<[string, number, string, UpstreamErrorKind]>([
    ["an unknown code echoing a function name", 336199, `function "check_daily_quota_balance" is invalid: rate limit of arrears`, "bad_response"],
    ["an unknown code echoing Chinese words", 336199, `函数 "查询余额额度欠费" 不存在`, "bad_response"],
    ["no permission for the endpoint the caller picked", 336004, "Permission error for current user", "bad_request"],
    ["genuine: 17, the daily limit", 17, "Open api daily request limit reached", "quota_exhausted"],
    ["genuine: an unknown code in Baidu's words", 336599, "Daily quota of this app is used up", "quota_exhausted"],
    ["genuine: an unknown rate limit in Baidu's words", 336599, "Open api qps request limit reached", "rate_limited"],
    ["genuine: 110, the token rejected", 110, "Access token invalid or no longer valid", "credential_rejected"],
  ])("Qianfan v1: %s", (_, code, message, kind) => {
    expect(qianfanError(ctx("qianfan"), { error_code: code, error_msg: message }, 200).kind).toBe(kind);
  });
});

describe("a vendor's retry hint is capped at the key pool's longest bench", () => {
  it.each([
    ["retry-after in seconds", { "retry-after": "99999999999" }],
    ["retry-after-ms", { "retry-after-ms": "99999999999999" }],
    ["an HTTP date years away", { "retry-after": "Fri, 31 Dec 2100 23:59:59 GMT" }],
  ])("%s", (_, headers) => {
    expect(parseRetryAfter(headers)).toBe(MAX_VENDOR_RETRY_AFTER_MS);
  });

  it("keeps a short hint as it is, and caps Google's RetryInfo too", () => {
    expect(parseRetryAfter({ "retry-after": "3" })).toBe(3_000);
    const error = { code: 429, message: "Resource has been exhausted", status: "RESOURCE_EXHAUSTED", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "99999999999s" }] };
    expect(geminiHttpError(429, {}, JSON.stringify({ error }), ctx("gemini")).retryAfterMs).toBe(MAX_VENDOR_RETRY_AFTER_MS);
  });
});

/** One vendor behind a gateway with one vendor key, and two tenants. */
interface World {
  gw: TestGateway;
  fake: FakeServer;
  a: Client<typeof AIService>;
  b: Client<typeof AIService>;
  secretA: string;
}

/** A world for the enclosing describe block: started before its tests, stopped after. */
function useWorld(start: () => Promise<{ fake: FakeServer; env: NodeJS.ProcessEnv }>): () => World {
  let world: World | undefined;
  beforeAll(async () => {
    const { fake, env } = await start();
    // One attempt per call; the key pool as shipped, so a bench shows.
    const gw = await startGateway(env, { traffic: { retry: { max_attempts: 1 } } });
    const admin = createClient(AdminService, gw.transport("connect"));
    const { secret: secretA } = await admin.createKey({ key: { displayName: "tenant a" } });
    const { secret: secretB } = await admin.createKey({ key: { displayName: "tenant b" } });
    world = { gw, fake, a: gw.client("connect", secretA), b: gw.client("connect", secretB), secretA };
  });
  afterAll(async () => {
    await world?.gw.stop();
    await world?.fake.close();
  });
  return () => world!;
}

async function providerHealth(gw: TestGateway, provider: string): Promise<string> {
  const res = await fetch(`${gw.url}/healthz`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  return ((await res.json()) as Json).providers?.[provider]?.status;
}

const reasonOf = (err: ConnectError) => err.findDetails(ErrorInfoSchema)[0]?.reason;
const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hello there" }] });

/** The other tenant's next call is served: the vendor key is still in rotation. */
async function otherTenantServed(world: World, provider: string, model: string): Promise<void> {
  const res = await world.b.chat(ask(model));
  expect(res.message?.content).toContain("hello there");
  expect(await providerHealth(world.gw, provider)).toBe("serving");
}

/** A vendor error that echoes tenant A's input: answered with `code`, and the key stays for tenant B. */
async function echoKeepsKey(world: World, provider: string, model: string, script: Scripted, code: Code): Promise<void> {
  world.fake.enqueue(script);
  const err = await failure(world.a.chat(ask(model)));
  expect(err.code).toBe(code);
  expect(reasonOf(err)).not.toBe("UPSTREAM_QUOTA_EXHAUSTED");
  await otherTenantServed(world, provider, model);
}

/** The control: a genuine quota error benches the one key, so the other tenant is refused. */
async function genuineQuotaBenches(world: World, provider: string, model: string, script: Scripted): Promise<void> {
  world.fake.enqueue(script);
  const err = await failure(world.a.chat(ask(model)));
  expect(err.code).toBe(Code.ResourceExhausted);
  expect(reasonOf(err)).toBe("UPSTREAM_QUOTA_EXHAUSTED");
  const refused = await failure(world.b.chat(ask(model)));
  expect(refused.code).toBe(Code.ResourceExhausted);
  expect(refused.rawMessage).toContain("no usable key");
  expect(await providerHealth(world.gw, provider)).not.toBe("serving");
}

/** Unknown models named with the words: the fake's own 404 echoes them. */
async function unknownModelKeepsKey(world: World, provider: string, unknown: string, model: string): Promise<void> {
  const err = await failure(world.a.chat(ask(`${provider}/${unknown}`)));
  expect(err.code).toBe(Code.NotFound);
  expect(reasonOf(err)).toBe("UPSTREAM_MODEL_NOT_FOUND");
  await otherTenantServed(world, provider, model);
}

function useOpenAIWorld(): () => World {
  const KEY = "sk-openai-vendor-key-0123456789";
  return useWorld(async () => {
    const fake = await startOpenAIFake({ apiKey: KEY });
    return { fake, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl } };
  });
}

const chatCompletion = (world: World, model: string) =>
  fetch(`${world.gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${world.secretA}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });

describe("OpenAI: an error echoing the caller's input keeps the key", () => {
  const world = useOpenAIWorld();

  it("the audit's request: POST /v1/chat/completions for openai/gpt-quota → 404, and the other tenant is served", async () => {
    const res = await chatCompletion(world(), "openai/gpt-quota");
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.code).toBe("upstream_model_not_found");
    await otherTenantServed(world(), "openai", "gpt-4o-mini");
  });

  it.each(["gpt-billing", "gpt-balance", "gpt-credit balance", "gpt-insufficient_quota"])("model %s → NotFound, the key stays", async (model) => {
    await unknownModelKeepsKey(world(), "openai", model, "gpt-4o-mini");
  });

  it("a 400 echoing the words → InvalidArgument, the key stays", async () => {
    const body = { error: { message: `Unrecognized request argument supplied: ${ECHO}`, type: "invalid_request_error", param: null, code: null } };
    await echoKeepsKey(world(), "openai", "gpt-4o-mini", { kind: "error", status: 400, body }, Code.InvalidArgument);
  });

  it("control: a genuine 429 insufficient_quota still benches the key", async () => {
    const body = { error: { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota", param: null, code: "insufficient_quota" } };
    await genuineQuotaBenches(world(), "openai", "gpt-4o-mini", { kind: "error", status: 429, body });
  });
});

describe("OpenAI: a huge retry-after reaches the caller capped", () => {
  // A world of its own: the 429 benches its one key.
  const world = useOpenAIWorld();

  it("retry-after: 99999999999 → at most the key pool's longest bench", async () => {
    const body = { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } };
    world().fake.enqueue({ kind: "error", status: 429, headers: { "retry-after": "99999999999" }, body });
    const res = await chatCompletion(world(), "gpt-4o-mini");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBe(MAX_VENDOR_RETRY_AFTER_MS / 1000);
    expect(Number(res.headers.get("retry-after-ms"))).toBe(MAX_VENDOR_RETRY_AFTER_MS);
  });
});

describe("Anthropic: an error echoing 'credit balance' keeps the key", () => {
  const KEY = "sk-ant-api03-vendor-key-0123456789";
  const MODEL = "claude-sonnet-4-5";
  const world = useWorld(async () => {
    const fake = await startAnthropicFake({ apiKey: KEY });
    return { fake, env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.baseUrl } };
  });

  it("the audit's request: POST /v1/messages for claude-credit balance → 404, and the other tenant is served", async () => {
    const res = await fetch(`${world().gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": world().secretA, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "anthropic/claude-credit balance", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.type).toBe("not_found_error");
    await otherTenantServed(world(), "anthropic", MODEL);
  });

  it.each(["claude-quota", "claude-billing", "claude-balance"])("model %s → NotFound, the key stays", async (model) => {
    await unknownModelKeepsKey(world(), "anthropic", model, MODEL);
  });

  it("a vendor option named like Anthropic's balance sentence → InvalidArgument, the key stays", async () => {
    const sentence = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.";
    const err = await failure(world().a.chat({ ...ask(MODEL), vendorOptions: { [sentence]: 1 } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("Extra inputs are not permitted");
    await otherTenantServed(world(), "anthropic", MODEL);
  });

  it("a 403 permission_error about a resource → InvalidArgument, the key stays", async () => {
    const script = anthropicError(403, "permission_error", "Your API key does not have permission to use the specified resource.");
    await echoKeepsKey(world(), "anthropic", MODEL, script, Code.InvalidArgument);
  });

  it("control: the genuine 'credit balance is too low' 400 still benches the key", async () => {
    const sentence = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.";
    await genuineQuotaBenches(world(), "anthropic", MODEL, anthropicError(400, "invalid_request_error", sentence));
  });
});

describe("Gemini: an error echoing the caller's input, or a 403 about its resource, keeps the key", () => {
  const KEY = "AIzaSy-gemini-vendor-key-0123456789";
  const MODEL = "gemini-2.5-flash";
  const world = useWorld(async () => {
    const fake = await startGeminiFake({ apiKey: KEY });
    return { fake, env: { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl } };
  });

  it("an unknown model named with the words → NotFound, the key stays", async () => {
    await unknownModelKeepsKey(world(), "gemini", "gemini-quota-billing-balance", MODEL);
  });

  it.each<[string, Scripted, Code]>([
    ["a 404 echoing Google's 'API key not valid' → NotFound", googleError(404, "NOT_FOUND", "models/API key not valid is not found for API version v1beta, or is not supported for generateContent."), Code.NotFound],
    ["a 400 echoing the words → InvalidArgument", googleError(400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "${ECHO}": Cannot find field.`), Code.InvalidArgument],
    ["a 403 for another project's cachedContent → InvalidArgument", googleError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)"), Code.InvalidArgument],
  ])("%s, the key stays", async (_, script, code) => {
    await echoKeepsKey(world(), "gemini", MODEL, script, code);
  });

  it("control: a 403 with ErrorInfo BILLING_DISABLED still benches the key", async () => {
    await genuineQuotaBenches(world(), "gemini", MODEL, googleError(403, "PERMISSION_DENIED", "Billing is disabled for the project.", [errorInfo("BILLING_DISABLED")]));
  });
});

describe("DashScope: an error echoing the caller's input, or a 403 about its model, keeps the key", () => {
  const KEY = "sk-dashscope-vendor-key-0123456789";
  const MODEL = "qwen-plus";
  const world = useWorld(async () => {
    const fake = await startDashScopeFake({ apiKey: KEY });
    return { fake, env: { DASHSCOPE_API_KEY: KEY, DASHSCOPE_BASE_URL: fake.baseUrl } };
  });
  const dashScopeAnswer = (status: number, code: string, message: string): Scripted => ({ kind: "error", status, body: { code, message, request_id: "req-1" } });

  it("a 400 with an unmapped code echoing the model → InvalidArgument, the key stays", async () => {
    await echoKeepsKey(world(), "dashscope", MODEL, dashScopeAnswer(400, "invalid_parameter_error", `The provided model 'qwen-${ECHO}' is not supported.`), Code.InvalidArgument);
  });

  it("403 AccessDenied.Unpurchased (a model the account has not enabled) → PermissionDenied, the account's; the key stays for its other models", async () => {
    await echoKeepsKey(world(), "dashscope", MODEL, dashScopeAnswer(403, "AccessDenied.Unpurchased", "Access to model denied. Please make sure you are eligible for using the model."), Code.PermissionDenied);
  });

  it("control: a genuine 400 Arrearage still benches the key", async () => {
    await genuineQuotaBenches(world(), "dashscope", MODEL, dashScopeAnswer(400, "Arrearage", "Access denied, please make sure your account is in good standing."));
  });
});

describe("Qianfan v1: an error echoing the caller's input keeps the key", () => {
  const AK = "qianfan-vendor-ak-0123456789";
  const SK = "qianfan-vendor-sk-0123456789";
  const MODEL = "ernie-4.0-8k";
  const world = useWorld(async () => {
    const fake = await startQianfanFake({ apiKey: AK, secretKey: SK });
    return { fake, env: { QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: fake.baseUrl } };
  });
  // A cached access token, so each script hits a chat call.
  beforeAll(() => world().b.chat(ask(MODEL)));
  const baidu = (code: number, message: string): Scripted => ({ kind: "error", status: 200, body: { error_code: code, error_msg: message } });

  it.each<[string, Scripted, Code]>([
    ["an unknown code echoing a function name", baidu(336199, `function "check_daily_quota_balance" is invalid: rate limit of arrears`), Code.Unavailable],
    ["an unknown code echoing Chinese words", baidu(336199, `函数 "查询余额额度欠费" 不存在`), Code.Unavailable],
    ["336004, no permission for the endpoint the caller picked", baidu(336004, "Permission error for current user"), Code.InvalidArgument],
  ])("%s → not quota, the key stays", async (_, script, code) => {
    await echoKeepsKey(world(), "qianfan", MODEL, script, code);
  });

  it("control: the genuine error 17 (daily limit) still benches the key", async () => {
    await genuineQuotaBenches(world(), "qianfan", MODEL, baidu(17, "Open api daily request limit reached"));
  });
});
