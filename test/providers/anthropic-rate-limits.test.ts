// Anthropic's 429s told apart (issue 14). A per-minute token limit the
// request alone is over (the bucket its sentence names is reported full, and
// still refuses it) is the caller's error, as OpenAI's "Request too large …
// TPM" is: InvalidArgument, REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT, no
// retry-after, no other key tried. A 429 of the traffic so far keeps the
// vendor's retry-after; the monthly spend cap is an exhausted quota.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { anthropicHttpError } from "../../src/providers/anthropic/errors.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { overTokensPerMinute, spendCapReached } from "../fakes/anthropic-fake.js";
import type { Scripted } from "../fakes/fake-server.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";

const ctx = { provider: "anthropic", credential: createCredential("anthropic/a", "sk-ant-unit-test-key-0123456789") };

/** The vendor's answer as the codec reads it. */
function classify(scripted: Scripted) {
  if (scripted.kind !== "error") throw new Error("not an error");
  const headers = Object.fromEntries(Object.entries(scripted.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  return anthropicHttpError(scripted.status, headers, JSON.stringify(scripted.body), ctx);
}

describe("Anthropic's 429 for a per-minute token limit", () => {
  it("is the caller's error when the bucket it names is full, input or output tokens, without the vendor's retry-after", () => {
    for (const bucket of ["input", "output"] as const) {
      const err = classify(overTokensPerMinute(bucket, 30_000, 30_000, 60));
      expect(err).toMatchObject({ kind: "bad_request", reason: "REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT", retryAfterMs: undefined });
      expect(err.message).toMatch(/^provider "anthropic": this request alone is over the vendor's per-minute limit, so no retry or other key can serve it; make it smaller \(This request would exceed/);
    }
  });

  it("is an ordinary rate limit, honouring retry-after, when the traffic so far emptied the bucket", () => {
    expect(classify(overTokensPerMinute("input", 30_000, 12_000, 30))).toMatchObject({ kind: "rate_limited", retryAfterMs: 30_000, reason: undefined });
    // Without the bucket's headers nothing says the request alone is over it.
    const bare = overTokensPerMinute("output", 8_000, 8_000) as Extract<Scripted, { kind: "error" }>;
    expect(classify({ ...bare, headers: { "retry-after": "30" } })).toMatchObject({ kind: "rate_limited", retryAfterMs: 30_000 });
    // A full bucket of another kind than the one the sentence names says nothing either.
    const otherBucket = overTokensPerMinute("input", 30_000, 0) as Extract<Scripted, { kind: "error" }>;
    expect(classify({ ...otherBucket, headers: { ...otherBucket.headers, "anthropic-ratelimit-output-tokens-limit": "8000", "anthropic-ratelimit-output-tokens-remaining": "8000" } }).kind).toBe(
      "rate_limited",
    );
    // Requests per minute are no token bucket.
    const requests = { kind: "error", status: 429, body: { type: "error", error: { type: "rate_limit_error", message: "Number of requests has exceeded your per-minute rate limit" } }, headers: { "retry-after": "7" } } as const;
    expect(classify(requests)).toMatchObject({ kind: "rate_limited", retryAfterMs: 7_000 });
  });

  it("is read only from a 429 rate_limit_error", () => {
    const full = overTokensPerMinute("input", 30_000, 30_000) as Extract<Scripted, { kind: "error" }>;
    expect(classify({ ...full, status: 400 }).reason).toBeUndefined();
    expect(classify({ ...full, body: { type: "error", error: { type: "overloaded_error", message: (full.body as any).error.message } } }).reason).toBeUndefined();
  });
});

describe("Anthropic's 429 for the monthly spend cap", () => {
  it("is an exhausted quota, not a rate limit a wait would end", () => {
    expect(classify(spendCapReached())).toMatchObject({ kind: "quota_exhausted", retryAfterMs: undefined });
  });
});

describe("through the gateway", () => {
  let world: ThreeVendors;
  beforeAll(async () => {
    world = await startThreeVendors();
  });
  afterAll(async () => {
    await world?.stop();
  });
  const chat = { model: "claude-sonnet-4-5", messages: [{ role: Role.USER, content: "a long prompt" }] };
  const messages = () =>
    fetch(`${world.gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 16, messages: [{ role: "user", content: "a long prompt" }] }),
    });

  it("a request alone over the limit is InvalidArgument on Connect and a 400 on /v1/messages, sent once, with no retry-after", async () => {
    const before = world.anthropic.messageRequests().length;
    world.anthropic.enqueue(overTokensPerMinute("input", 30_000, 30_000, 60));
    const err = await failure(world.gw.client().chat(chat));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(reasonOf(err)).toBe("REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT");
    expect(err.metadata.get("retry-after")).toBeNull();

    world.anthropic.enqueue(overTokensPerMinute("input", 30_000, 30_000, 60));
    const res = await messages();
    expect(res.status).toBe(400);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", reason: "request_too_large_for_vendor_limit" } });
    expect(world.anthropic.messageRequests().length - before).toBe(2);
  });

  it("an ordinary 429 reaches the caller with the vendor's retry-after", async () => {
    world.anthropic.enqueue(overTokensPerMinute("input", 30_000, 4_000, 30));
    const res = await messages();
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });
});
