// What a vendor sends back in an error reaches callers, logs, spans and the
// admin API's key-state reasons: a key it echoes must never get through, not
// even in part. The message is redacted whole before it is cut (a key across
// the cut would otherwise survive as a prefix the exact match no longer
// finds), and the vendor's code is redacted and kept only when it looks like one.
import { describe, expect, it } from "vitest";
import { anthropicHttpError } from "../../src/providers/anthropic/errors.js";
import { dashScopeError, parseDashScopeError } from "../../src/providers/dashscope/errors.js";
import { VENDOR_MESSAGE_MAX_CHARS } from "../../src/providers/error-messages.js";
import { geminiHttpError, noCandidate } from "../../src/providers/gemini/errors.js";
import { fromOpenAIHttpError, openAIStreamError } from "../../src/providers/openai/errors.js";
import { qianfanStatusError, tokenExchangeError } from "../../src/providers/qianfan-v1/errors.js";
import { redactSecrets } from "../../src/providers/redact.js";
import type { UpstreamError } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";
import { failure, testPool } from "../secrets/support/pool-fixtures.js";

// A key with no vendor prefix (Azure- or Mistral-style): only the exact match can find it.
const KEY = "Zq7Vt0RMo3wXbN9cLp2EhYs6dKuJf8GiTa1W";
const credential = createCredential("vendor/test", KEY);
const ctx = { provider: "vendor", credential };

type HttpError = (status: number, text: string) => UpstreamError;
const dialects: [string, HttpError][] = [
  ["openai", (status, text) => fromOpenAIHttpError(status, {}, text, ctx)],
  ["anthropic", (status, text) => anthropicHttpError(status, {}, text, ctx)],
  ["gemini", (status, text) => geminiHttpError(status, {}, text, ctx)],
  ["dashscope", (status, text) => dashScopeError(ctx, parseDashScopeError(text), { status, headers: {} })],
  ["qianfan-v1", (status, text) => qianfanStatusError(ctx, status, text)],
];

/** Pads that put the key across each cut the dialects have used (200, 300, 500 characters) and across the one kept now. */
const PADS = [180, 280, 480, VENDOR_MESSAGE_MAX_CHARS - 20].map((cut) => cut - "<html>".length);

describe("a vendor's error page that is not JSON", () => {
  it.each(dialects)("%s: no part of a key across the cut reaches the message", (_, httpError) => {
    for (const pad of PADS) {
      const message = httpError(500, `<html>${"x".repeat(pad)} ${KEY} </html>`).message;
      expect(message).not.toContain(KEY.slice(0, 8));
      expect(message).toContain("<html>xxx");
    }
  });

  it.each(dialects)("%s: a long page is still cut", (_, httpError) => {
    const message = httpError(502, `<html>${"y".repeat(10_000)}</html>`).message;
    expect(message.length).toBeLessThan(VENDOR_MESSAGE_MAX_CHARS + 100);
  });
});

describe("the vendor's error code", () => {
  const echoed = `invalid_api_key:${KEY}`;

  it("is redacted, then dropped when it no longer looks like a code, in every dialect's parser", () => {
    const errors = [
      fromOpenAIHttpError(401, {}, JSON.stringify({ error: { message: "no", code: echoed } }), ctx),
      fromOpenAIHttpError(401, {}, JSON.stringify({ error: { message: "no", type: echoed } }), ctx),
      openAIStreamError(ctx, { message: "no", code: echoed }),
      anthropicHttpError(401, {}, JSON.stringify({ type: "error", error: { type: echoed, message: "no" } }), ctx),
      geminiHttpError(401, {}, JSON.stringify({ error: { code: 401, message: "no", status: echoed } }), ctx),
      dashScopeError(ctx, parseDashScopeError(JSON.stringify({ code: echoed, message: "no" })), { status: 401, headers: {} }),
      tokenExchangeError("vendor", credential, 401, echoed),
      noCandidate({ blockReason: echoed }, ctx),
    ];
    for (const error of errors) {
      expect(error.vendorCode).toBeUndefined();
      expect(error.message).not.toContain(KEY.slice(0, 8));
    }
  });

  it("drops what is no code at all: too long, or with spaces or markup", () => {
    for (const code of ["c".repeat(65), "not a code", "<b>x</b>"]) {
      expect(fromOpenAIHttpError(400, {}, JSON.stringify({ error: { message: "no", code } }), ctx).vendorCode).toBeUndefined();
    }
  });

  it("keeps real codes as they are", () => {
    expect(fromOpenAIHttpError(401, {}, JSON.stringify({ error: { message: "no", code: "invalid_api_key" } }), ctx).vendorCode).toBe("invalid_api_key");
    expect(dashScopeError(ctx, { code: "InternalError.Algo", message: "x" }).vendorCode).toBe("InternalError.Algo");
    expect(geminiHttpError(429, {}, JSON.stringify({ error: { code: 429, message: "slow", status: "RESOURCE_EXHAUSTED" } }), ctx).vendorCode).toBe("RESOURCE_EXHAUSTED");
    expect(noCandidate({ blockReason: "SAFETY" }, ctx).message).toContain("blocked the prompt (SAFETY)");
    expect(tokenExchangeError("vendor", credential, 401, "invalid_client").vendorCode).toBe("invalid_client");
  });

  it("never reaches a key's state reason, which the admin API returns", () => {
    const { pool, secrets } = testPool([{ id: "a" }, { id: "b" }]);
    const secret = secrets.get("b")!;
    const rejected = fromOpenAIHttpError(401, {}, JSON.stringify({ error: { message: "no", code: `invalid_api_key:${secret}` } }), {
      provider: "openai",
      credential: createCredential("openai/b", secret),
    });
    pool.report("openai/b", { ok: false, error: rejected });
    const key = pool.get("openai/b")!;
    expect(key.state).toBe("disabled");
    expect(key.reason).toContain("rejected by the vendor (HTTP 401)");
    expect(key.reason).not.toContain(secret.slice(0, 8));
    // The control: an honest code is still named.
    pool.report("openai/a", failure("credential_rejected", { status: 401, vendorCode: "invalid_api_key" }));
    expect(pool.get("openai/a")!.reason).toContain("(HTTP 401, invalid_api_key)");
  });
});

describe("key shapes found without the exact key", () => {
  it("redacts Groq and xAI keys, also cut short", () => {
    for (const key of ["gsk_AbCdEfGh1234567890Xy", "xai-AbCdEfGh1234567890Xy", `gsk_${"a1B2".repeat(13)}`, `xai-${"Q9z".repeat(27)}`]) {
      expect(redactSecrets(`bad key ${key} given`)).toBe("bad key [redacted] given");
    }
  });

  it("leaves model names and ordinary words alone", () => {
    for (const text of ["model xai/grok-4 not found", "model xai-grok-beta not found", "the task is done", "max_tokens_exceeded"]) {
      expect(redactSecrets(text)).toBe(text);
    }
  });
});
