// Key pools in a real gateway against a vendor that misbehaves on purpose
// (the fake OpenAI): a canary it answers 404 where the active key is served,
// a 429 with a retry-after of ten years, a key echoed base64-encoded.
import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { failure } from "../support/failure.js";
import { adminClient, calls, credentials, hello, requestsByKey } from "./support/admin.js";
import { keysFromEnv } from "./support/env-key-gateways.js";

const secret = (label: string) => `sk-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const b64 = (text: string) => Buffer.from(text).toString("base64");
const hex = (text: string) => Buffer.from(text).toString("hex");

describe("a canary the vendor answers 404 where the active key is served", () => {
  const A = secret("primary");
  const NEXT = secret("no-access");
  let fake: OpenAIFake;
  let gw: TestGateway;
  const next = "providers/openai/credentials/next";

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: A, extraKeys: [NEXT] });
    gw = await startGateway(
      { KEY_A: A, OPENAI_KEY_NEXT: NEXT },
      { providers: { openai: { base_url: fake.baseUrl, timeout_ms: 1_000, keys: keysFromEnv({ primary: "KEY_A" }) } } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("is rolled back; the active key keeps all the traffic", async () => {
    // Its project has no access to the model: every call with it is answered 404.
    fake.failKey(NEXT, {
      kind: "error",
      status: 404,
      body: { error: { message: "The model `gpt-4o-mini` does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: "model_not_found" } },
    });
    const admin = adminClient(gw);
    await admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_KEY_NEXT", replaces: "providers/openai/credentials/primary", trafficShare: 0.5 });
    const from = fake.requests.length;
    let state = CredentialState.STANDBY;
    for (let i = 0; i < 150 && state === CredentialState.STANDBY; i++) {
      await gw.client().chat(hello).catch(() => undefined);
      state = (await credentials(admin, "openai")).byName.get(next)!.state;
    }
    const listed = (await credentials(admin, "openai")).byName.get(next)!;
    expect(listed.state).toBe(CredentialState.RETIRED);
    expect(listed.stateReason).toMatch(/^rolled back automatically: it fails where the active keys succeed \(model_not_found on \d+ of its \d+ answered calls, the active keys on 0 of \d+, HTTP 404\)/);
    expect(requestsByKey(fake, from).get(NEXT)).toBeLessThanOrEqual(45);
    expect(gw.logs.entries.some((e) => e.msg === "key state changed" && e.credential === "openai/next" && e.cause === "auto_rolled_back")).toBe(true);

    const after = fake.requests.length;
    expect((await calls(gw, 20)).failed).toEqual([]);
    expect([...requestsByKey(fake, after).keys()]).toEqual([A]);
    for (const value of [A, NEXT]) expect(gw.logs.text).not.toContain(value);
  });
});

describe("a 429 with a retry-after of ten years", () => {
  const A = secret("a");
  const B = secret("b");
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: A, extraKeys: [B] });
    gw = await startGateway(
      { KEY_A: A, KEY_B: B },
      {
        providers: { openai: { base_url: fake.baseUrl, keys: keysFromEnv({ a: "KEY_A", b: "KEY_B" }) } },
        traffic: { retry: { max_attempts: 1 } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("cools each key for a minute at most (seconds or an HTTP date in 9999), and the provider fails for no longer", async () => {
    // (A request too large for the limit on its own is the caller's error and benches no key: one-caller-429s.test.ts.)
    const limited = { error: { message: "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29990, Requested 50.", type: "tokens", param: null, code: "rate_limit_exceeded" } };
    fake.enqueue(
      { kind: "error", status: 429, headers: { "retry-after": "315360000" }, body: limited },
      { kind: "error", status: 429, headers: { "retry-after": "Fri, 31 Dec 9999 23:59:59 GMT" }, body: limited },
    );
    for (let i = 0; i < 2; i++) expect((await failure(gw.client().chat(hello))).code).toBe(Code.ResourceExhausted);
    const { byName } = await credentials(adminClient(gw), "openai");
    for (const id of ["a", "b"]) {
      const key = byName.get(`providers/openai/credentials/${id}`)!;
      expect(key.state).toBe(CredentialState.COOLING_DOWN);
      expect(key.stateReason).toBe("rate limited by the vendor; back in 1 min");
      const resumeIn = timestampMs(key.nextTransitionTime!) - Date.now();
      expect(resumeIn).toBeGreaterThan(50_000);
      expect(resumeIn).toBeLessThanOrEqual(60_000);
    }
    const exhausted = await failure(gw.client().chat(hello));
    expect(exhausted.code).toBe(Code.ResourceExhausted);
    expect(exhausted.rawMessage).toBe('provider "openai" has no usable key right now (2 cooling down)');
    expect(Number(exhausted.metadata.get("retry-after"))).toBeLessThanOrEqual(60);
  });
});

describe("a vendor that echoes the key encoded", () => {
  const A = secret("echoed");
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: A });
    gw = await startGateway(
      { KEY_A: A },
      { providers: { openai: { base_url: fake.baseUrl, keys: keysFromEnv({ a: "KEY_A" }) } }, traffic: { retry: { max_attempts: 1 } } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("never gets it to the caller or the log: base64 in the message, hex and upper case too", async () => {
    const echoes = [b64(A), b64(`Bearer ${A}`), hex(A).toUpperCase(), A.toUpperCase()];
    const forms = [A, b64(A).slice(0, -4), b64(` ${A}`).slice(4, -4), hex(A)];
    for (const echo of echoes) {
      fake.failKey(A, { kind: "error", status: 400, body: { error: { message: `Invalid request from credential ${echo}.`, type: "invalid_request_error", param: null, code: null } } });
      const err = await failure(gw.client().chat(hello));
      expect(err.code).toBe(Code.InvalidArgument);
      // What is left of an encoded text around the key is its neighbours' ("Bearer "), never the key's.
      expect(err.rawMessage).toMatch(/^provider "openai": Invalid request from credential [A-Za-z0-9+/]{0,12}\[redacted\][A-Za-z0-9+/=]{0,3}\.$/);
    }
    fake.failKey(A, undefined);
    const seen = [gw.logs.text, ...gw.logs.entries.map((e) => JSON.stringify(e))].join("\n").toLowerCase();
    for (const form of forms) expect(seen).not.toContain(form.toLowerCase());
  });
});
