// Audit admin2 F1: the check "a caller's text holds a secret" matched any
// 12-character piece of a known secret, in any case, and answered otherwise
// than for an ordinary unknown name; an error's echo of the name was masked
// the same way. Any key holder could grow a guessed piece one character at a
// time into the master key (618 requests). A piece of a secret must get the
// very answer a random text of its length gets, on every surface: only a
// whole secret, exactly as written, is refused or masked. Audit obs4 #5: a
// gateway key as a model name is refused before any vendor sees it.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ownSecretsOf } from "../../src/api/admin/secret-lookalike.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import { holdsKnownSecret, maskKeys, maskLogText, rememberOwnSecret } from "../../src/providers/redact.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

/** Hand-made, as the audit's was: a guessable start, lower case, digits and hyphens only. */
const MASTER = "sk-master-oracle-audit-0123456789abcdef";
const VENDOR_KEY = "sk-upstream-oracle-vendor-9876543210fedcba";
const messages = [{ role: Role.USER, content: "hi" }];

/**
 * A text shaped as `like`, which is no piece of a secret here: its first 3
 * characters (a vendor's public prefix, "sk-", which key shapes go by), then
 * a letter for each letter, in its case, a digit for each digit, the rest kept.
 */
function randomLike(like: string, seed: number): string {
  let x = seed;
  const next = (alphabet: string) => alphabet[(x = (x * 7919 + 104729) % 1_000_003) % alphabet.length]!;
  return like.slice(0, 3) + like.slice(3).replace(/[a-z]/g, () => next("abcdefghijklmnopqrstuvwxyz")).replace(/[A-Z]/g, () => next("ABCDEFGHIJKLMNOPQRSTUVWXYZ")).replace(/[0-9]/g, () => next("0123456789"));
}

/** Guesses at a secret: its 12- and 13-character pieces from `at` (as the attack grows them), and the whole in upper case; each with a random text shaped like it. */
function guesses(secret: string, at: number): [guess: string, control: string][] {
  return [secret.slice(at, at + 12), secret.slice(at, at + 13), secret.toUpperCase()].map((guess, i) => [guess, randomLike(guess, i + at)]);
}

const PROBES = [...guesses(MASTER, 0), ...guesses(MASTER, 3), ...guesses(MASTER, 11), ...guesses(VENDOR_KEY, 0), ...guesses(VENDOR_KEY, 14)];

describe("a caller's text holding a piece of a secret", () => {
  let fake: OpenAIFake;
  let plain: TestGateway;
  let glob: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: VENDOR_KEY, models: ["gpt-4o-mini"] });
    const env = { SWITCHBOARD_MASTER_KEY: MASTER, OPENAI_API_KEY: VENDOR_KEY, OPENAI_BASE_URL: fake.baseUrl };
    plain = await startGateway(env);
    // Every name goes to the vendor, whose 404 quotes it back.
    glob = await startGateway(env, { routes: [{ model: "*", provider: "openai" }] });
  });
  afterAll(async () => {
    await plain?.stop();
    await glob?.stop();
    await fake?.close();
  });

  /** Everything a caller learns from a chat naming `model`, with the name itself (echoed as it was) written <m>. */
  async function connectAnswer(gw: TestGateway, model: string): Promise<string> {
    const err = await failure(gw.client("connect", MASTER).chat({ model, messages }));
    const info = err.findDetails(ErrorInfoSchema)[0];
    return JSON.stringify({ code: Code[err.code], reason: info?.reason, metadata: info?.metadata, message: err.rawMessage }).replaceAll(model, "<m>");
  }
  async function restAnswer(gw: TestGateway, model: string): Promise<string> {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
    return `${res.status} ${(await res.text()).replaceAll(model, "<m>")}`;
  }

  it("as a model name gets the answer a random name gets, no route serving either", async () => {
    for (const [guess, control] of PROBES) {
      expect(await connectAnswer(plain, guess)).toBe(await connectAnswer(plain, control));
      expect(await restAnswer(plain, guess)).toBe(await restAnswer(plain, control));
    }
  });

  it("as a model name a vendor quotes back gets the answer a random name gets", async () => {
    // A vendor's words are searched for whole secrets in any case (one may echo a key upper-cased): that takes every
    // character of the secret already, so only pieces are probed here.
    for (const [guess, control] of PROBES.filter(([guess]) => guess.length < 20)) {
      expect(await connectAnswer(glob, guess)).toBe(await connectAnswer(glob, control));
      expect(await restAnswer(glob, guess)).toBe(await restAnswer(glob, control));
    }
  });

  it("as a resource name an admin looks up gets the answer a random name gets", async () => {
    const admin = createClient(AdminService, plain.transport("connect", MASTER));
    const answer = async (id: string) => {
      const err = await failure(admin.getKey({ name: `keys/${id}` }));
      return JSON.stringify({ code: Code[err.code], reason: err.findDetails(ErrorInfoSchema)[0]?.reason, message: err.rawMessage }).replaceAll(id, "<id>");
    };
    for (const [guess, control] of PROBES.filter(([guess]) => /^[a-z0-9-]+$/.test(guess))) expect(await answer(guess)).toBe(await answer(control));
  });

  it("while the whole secret, as written, is still refused before any vendor sees it", async () => {
    const before = fake.requests.length;
    for (const model of [MASTER, `openai/${MASTER}`, VENDOR_KEY]) {
      const err = await failure(glob.client("connect", MASTER).chat({ model, messages }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "SECRET_IN_FIELD", metadata: { field: "model" } });
      expect(err.rawMessage).not.toContain(model);
    }
    expect(fake.requests.length).toBe(before);
  });

  it("a gateway key as a model name is refused before any vendor sees it, though a glob route would serve it", async () => {
    const key = generateGatewayKey();
    const before = fake.requests.length;
    for (const model of [key, `openai/${key}`]) {
      const err = await failure(glob.client("connect", MASTER).chat({ model, messages }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "SECRET_IN_FIELD", metadata: { field: "model" } });
      expect(err.rawMessage).not.toContain(key);
      const rest = await restAnswer(glob, model);
      expect(rest).toMatch(/^400 /);
    }
    expect(fake.requests.length).toBe(before);
    expect(glob.logs.text).not.toContain(key);
  });
});

describe("the masking helpers on a piece of a known secret", () => {
  const SECRET = "pepper-oracle-unit-0123456789abcdef";
  beforeAll(() => rememberOwnSecret(SECRET));

  it("leave what a caller may see as it is, and mask only the whole secret as written", () => {
    for (const piece of [SECRET.slice(0, 12), SECRET.slice(5, 30), SECRET.toUpperCase(), encodeURIComponent(SECRET).replace("-", "%2D")]) {
      expect(maskKeys(`m-${piece}`)).toBe(`m-${piece}`);
      expect(holdsKnownSecret(piece)).toBe(false);
    }
    expect(maskKeys(`m-${SECRET}`)).toBe("m-[redacted]");
    expect(maskKeys(`m-${Buffer.from(SECRET).toString("base64")}`)).toBe("m-[redacted]");
    expect(holdsKnownSecret(`m-${SECRET}`)).toBe(true);
  });

  it("still find pieces in the gateway's own log lines, which no caller reads", () => {
    expect(maskLogText(`cut: ${SECRET.slice(0, 20)}`)).toBe("cut: [redacted]");
    expect(maskLogText(`case: ${SECRET.toUpperCase()}`)).toBe("case: [redacted]");
  });
});

describe("the gateway's own secrets", () => {
  it("include the tracing service's credentials and the passwords of the URLs it reads, not the URLs", () => {
    const secrets = ownSecretsOf({
      OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=hcQwmvTrZ8pL3nXb, x-other=a%2Fb%3Dc-0123456789",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=Basic dXNlcjpwYXNzd29yZDEyMzQ=",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://user:Pq7RmZt2Wn5Lk9@127.0.0.1:43001",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://u:trace-pass-0123456789@otel.example/v1/traces",
      DATABASE_URL: "postgres://switchboard:db%40pass-0123456789@db:5432/sb",
      REDIS_URL: "redis://:redis-pass-0123456789@redis:6379/0",
      SWITCHBOARD_CACHE_REDIS_URL: "rediss://default:cache-pass-0123456789@cache:6380",
      OPENAI_BASE_URL: "https://api.openai.com/v1",
      SWITCHBOARD_MASTER_KEY: MASTER,
    });
    expect(secrets).toEqual(
      expect.arrayContaining([
        MASTER,
        "hcQwmvTrZ8pL3nXb",
        "a/b=c-0123456789",
        "Basic dXNlcjpwYXNzd29yZDEyMzQ=",
        "Pq7RmZt2Wn5Lk9",
        "trace-pass-0123456789",
        "db@pass-0123456789",
        "redis-pass-0123456789",
        "cache-pass-0123456789",
      ]),
    );
    for (const secret of secrets) expect(secret).not.toMatch(/:\/\/|^switchboard$|^default$|^user$/);
  });
});
