// One caller must not bench a provider's whole key pool (audit H2). A
// request the vendor answers 429 because of its own size ("Request too large
// … on tokens per min (TPM): Limit N, Requested M") is the caller's error:
// no key benched, no other key tried. Any other 429 goes to one other key of
// the pool at most, and one caller's 429s double a key's cool-down once at
// most, however often it sends the same request again.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { fromOpenAIHttpError, openAIStreamError } from "../../src/providers/openai/errors.js";
import { createCredential } from "../../src/secrets/credential.js";
import { startOpenAIFake, tooLargeForTpm, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { adminClient, credentials, hello } from "./support/admin.js";
import { failure as outcome, manualClock, testPool } from "./support/pool-fixtures.js";

const secret = (label: string) => `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const ctx = { provider: "openai", credential: createCredential("openai/a", secret("unit")) };

describe("OpenAI's 429 for a request too large for a per-minute limit", () => {
  it("is the caller's error (InvalidArgument, REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT), without the vendor's hour of retry-after", () => {
    const err = fromOpenAIHttpError(429, { "retry-after": "3600" }, JSON.stringify(tooLargeForTpm("gpt-4o", 30_000, 36_278)), ctx);
    expect(err.kind).toBe("bad_request");
    expect(err.reason).toBe("REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT");
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toMatch(/^provider "openai": this request alone is over the vendor's per-minute limit, so no retry or other key can serve it; make it smaller \(Request too large for gpt-4o /);
    // The same sentence in a stream's error event.
    const streamed = openAIStreamError(ctx, tooLargeForTpm("gpt-4o", 30_000, 36_278).error);
    expect([streamed.kind, streamed.reason]).toEqual(["bad_request", "REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT"]);
  });

  it("but a rate limit reached by the traffic so far is the key's (rate_limited), as is a sentence that does not ask for more than the limit", () => {
    const reached = {
      error: { message: "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms.", type: "tokens", code: "rate_limit_exceeded" },
    };
    expect(fromOpenAIHttpError(429, { "retry-after-ms": "644" }, JSON.stringify(reached), ctx)).toMatchObject({ kind: "rate_limited", retryAfterMs: 644, reason: undefined });
    const within = tooLargeForTpm("gpt-4o", 30_000, 20_000);
    expect(fromOpenAIHttpError(429, {}, JSON.stringify(within), ctx).kind).toBe("rate_limited");
    // Only a 429 says so: the same words with another status are classified by the status.
    expect(fromOpenAIHttpError(400, {}, JSON.stringify(tooLargeForTpm("gpt-4o", 1, 2)), ctx).reason).toBeUndefined();
  });
});

describe("a pool of three keys, and a caller with a key limited to one model", () => {
  const KEYS = [secret("a"), secret("b"), secret("c")];
  let fake: OpenAIFake;
  let gw: TestGateway;
  let caller: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: KEYS[0]!, extraKeys: KEYS.slice(1), tpmLimit: 50 });
    gw = await startGateway(
      { KEY_A: KEYS[0], KEY_B: KEYS[1], KEY_C: KEYS[2] },
      {
        providers: {
          openai: {
            base_url: fake.baseUrl,
            keys: ["a", "b", "c"].map((id) => ({ id, secret: `env:KEY_${id.toUpperCase()}`, weight: 1 })),
          },
        },
      },
    );
    caller = (await adminClient(gw).createKey({ keyId: "low", key: { displayName: "low", allowedModels: ["gpt-4o-mini"] } })).secret;
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  /** The keys of the chat requests the vendor received since `from` (a model listing may come in between). */
  const chats = (from: number) => fake.requests.slice(from).filter((req) => req.path === "/v1/chat/completions").map((req) => req.headers.authorization);
  const states = async () => [...(await credentials(adminClient(gw), "openai")).byName.values()].map((key) => key.state);

  it("an oversized request is refused as the caller's, on one key, and benches none", async () => {
    const from = fake.requests.length;
    const huge = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "word ".repeat(60) }] };
    for (let i = 0; i < 3; i++) {
      const err = await failure(gw.client("connect", caller).chat(huge));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(reasonOf(err)).toBe("REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT");
      expect(err.metadata.get("retry-after")).toBeNull();
    }
    expect(chats(from)).toHaveLength(3);
    expect(await states()).toEqual([CredentialState.ACTIVE, CredentialState.ACTIVE, CredentialState.ACTIVE]);
    await gw.client().chat(hello);
  });

  it("an ordinary 429 goes to one other key at most: one call benches two keys of three, never the pool", async () => {
    const limited = { kind: "error" as const, status: 429, headers: { "retry-after": "30" }, body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } } };
    for (const key of KEYS) fake.failKey(key, limited);
    const from = fake.requests.length;
    const err = await failure(gw.client("connect", caller).chat(hello));
    expect(err.code).toBe(Code.ResourceExhausted);
    const sent = chats(from);
    expect(sent).toHaveLength(2);
    expect(new Set(sent).size).toBe(2);
    const now = await states();
    expect(now.filter((state) => state === CredentialState.COOLING_DOWN)).toHaveLength(2);
    expect(now.filter((state) => state === CredentialState.ACTIVE)).toHaveLength(1);
    for (const key of KEYS) fake.failKey(key, undefined);
  });
});

describe("a key's cool-downs after 429s in a row", () => {
  const limited = (caller?: string) => ({ ...outcome("rate_limited", { status: 429, retryAfterMs: 3_600_000 }), caller });

  function benches(callers: (string | undefined)[]): number[] {
    const clock = manualClock();
    const { pool } = testPool([{ id: "a" }, { id: "b" }], { now: clock.now });
    return callers.map((who) => {
      pool.report("openai/a", limited(who));
      const ms = pool.get("openai/a")!.nextAt! - clock.now();
      clock.advance(ms); // the bench ends; the same request is sent again at once
      pool.pick();
      return ms;
    });
  }

  it("stay at max_first_cooldown_ms while one caller repeats the same request", () => {
    expect(benches(["low", "low", "low", "low", "low"])).toEqual([60_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it("double once per caller that meets one, up to max_cooldown_ms", () => {
    expect(benches(["low", "other", "low", "third", "fourth", "other"])).toEqual([60_000, 120_000, 120_000, 240_000, 300_000, 300_000]);
  });
});
