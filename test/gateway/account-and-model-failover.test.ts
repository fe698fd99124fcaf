// Vendor errors that are not the caller's request must not be told as one, nor end a call its route
// could still serve: Gemini's 400 FAILED_PRECONDITION (the key's project: a free tier not offered in
// its country, billing off) moves on like BILLING_DISABLED; Qianfan v2's 400 `invalid_model` is an
// unknown model, as other dialects' are. ERNIE v1's 336103 (the prompt too long) is the caller's.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failureAction } from "../../src/gateway/retry-policy.js";
import { qianfanError } from "../../src/providers/qianfan-v1/errors.js";
import { createCredential } from "../../src/secrets/credential.js";
import { googleError, startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const GEMINI_KEY = "AIzaSyFailoverTest0123456789abcdefXYZ";
const QIANFAN_KEY = "bce-v3/ALTAK-failover0123/0123456789abcdef";
const FALLBACK = "openai/gpt-4o-mini";

let gemini: GeminiFake;
let qianfan: OpenAIFake;
let openai: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: GEMINI_KEY });
  qianfan = await startOpenAIFake({ apiKey: QIANFAN_KEY, models: ["ernie-4.0-turbo-8k"] });
  openai = await startOpenAIFake({ apiKey: "sk-openai", models: ["gpt-4o-mini"] });
  gw = await startGateway(
    {
      GEMINI_API_KEY: GEMINI_KEY,
      GEMINI_BASE_URL: gemini.baseUrl,
      QIANFAN_API_KEY: QIANFAN_KEY,
      QIANFAN_BASE_URL: qianfan.baseUrl,
      OPENAI_API_KEY: "sk-openai",
      OPENAI_BASE_URL: openai.baseUrl,
    },
    {
      routes: [
        { model: "gemini-2.5-flash", provider: "gemini", fallbacks: [FALLBACK] },
        { model: "ernie-4.0-turbo-8k", provider: "qianfan", fallbacks: [FALLBACK] },
      ],
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
    },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([gemini?.close(), qianfan?.close(), openai?.close()]);
});

const ask = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hello" }] });

describe("an account's or a model's failure fails over to the route's fallback", () => {
  it("Gemini 400 FAILED_PRECONDITION: the fallback answers", async () => {
    gemini.enqueue(googleError(400, "FAILED_PRECONDITION", "User location is not supported for the API use."));
    const res = await gw.client().chat(ask("gemini-2.5-flash"));
    expect(res.provider).toBe("openai");
    expect(res.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
      ["gemini", "quota_exhausted"],
      ["openai", "ok"],
    ]);
  });

  it("Gemini 400 FAILED_PRECONDITION with nowhere else to go: the account's quota, not a request to fix", async () => {
    gemini.enqueue(googleError(400, "FAILED_PRECONDITION", "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio."));
    // Named with its provider, the model has no route and so no fallback.
    const err = await failure(gw.client().chat(ask("gemini/gemini-2.5-flash")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_QUOTA_EXHAUSTED");
  });

  it("Qianfan v2 400 invalid_model: the fallback answers", async () => {
    qianfan.enqueue({ kind: "error", status: 400, body: { error: { code: "invalid_model", message: "the model ernie-4.0-turbo-8k is invalid", type: "invalid_request_error" }, id: "as-failover" } });
    const res = await gw.client().chat(ask("ernie-4.0-turbo-8k"));
    expect(res.provider).toBe("openai");
    expect(res.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([
      ["qianfan", "model_not_found"],
      ["openai", "ok"],
    ]);
  });

  it("Qianfan v2 400 invalid_model with nowhere else to go: NotFound, an unknown model", async () => {
    qianfan.enqueue({ kind: "error", status: 400, body: { error: { code: "invalid_model", message: "the model ernie-4.0-turbo-8k is invalid", type: "invalid_request_error" }, id: "as-failover" } });
    const err = await failure(gw.client().chat(ask("qianfan/ernie-4.0-turbo-8k")));
    expect(err.code).toBe(Code.NotFound);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_MODEL_NOT_FOUND");
  });
});

describe("ERNIE v1's 336103", () => {
  it("is the caller's prompt, too long: InvalidArgument, no failover", () => {
    const ctx = { provider: "qianfan", credential: createCredential("qianfan/test", "Q7fWk2LmZp9RtXv4Bn6Hc8Jd", "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D") };
    const err = qianfanError(ctx, { error_code: 336103, error_msg: "the max length of current question is 4800" }, 200);
    expect(err.kind).toBe("bad_request");
    expect(failureAction(err)).toBe("stop");
  });
});
