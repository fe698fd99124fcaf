// Whatever a caller sends, a key's spend only grows and never passes its
// budget by more than one call's cost: numbers are checked alike on every
// surface, and reservations and spend are whole nano-units.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

/** A 1×1 transparent PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const CALL_COST = 6; // dollars: "hi" is 4 prompt tokens and "Echo: hi" 2 completion tokens, at $1 a token (TEST_PRICING)

describe.each<Backend>(["sqlite", "postgres+redis"])("budget bounds on %s", (backend) => {
  const tag = backend.replace("+", "-");
  let world: UsageWorld;
  beforeAll(async () => {
    // "combo": a first candidate the vendor does not know (priced as gpt-4o-mini, by prefix), then gpt-4o at $1 a token.
    world = await startUsageWorld(backend, { routes: [{ model: "combo", provider: "openai", upstream_model: "gpt-4o-mini-unknown", fallbacks: ["gpt-4o"] }] });
  });
  afterAll(() => world.close());

  const spent = async (keyId: string): Promise<number> => {
    const status = (await world.admin().getKey({ name: `keys/${keyId}` })).key?.budgetStatus;
    return Number(status?.spent?.units ?? 0n) + (status?.spent?.nanos ?? 0) / 1e9;
  };
  const rest = (secret: string, body: Record<string, unknown>) =>
    fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body }),
    });
  const connectJson = (secret: string, body: Record<string, unknown>) =>
    fetch(`${world.gw.url}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "ROLE_USER", content: "hi" }], ...body }),
    });

  it("refuses a count that is not a whole number in the contract's range, on REST and Connect alike", async () => {
    const { secret } = await world.admin().createKey({ keyId: `numbers-${tag}`, key: { displayName: "numbers", budget: { limit: { units: 20n } } } });
    const calls = world.fake.chatRequests().length;
    for (const body of [{ max_tokens: 1e30 }, { max_tokens: 3.5 }, { max_completion_tokens: 0 }, { max_tokens: -1 }, { max_tokens: 2 ** 31 }]) {
      const res = await rest(secret, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/max_(completion_)?tokens: must be a whole number from 1 to 2147483647/);
    }
    for (const body of [{ maxTokens: 1e30 }, { maxTokens: 3.5 }, { maxTokens: 0 }]) {
      expect((await connectJson(secret, body)).status, JSON.stringify(body)).toBe(400);
    }
    const embed = await fetch(`${world.gw.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: "hi", dimensions: 1.5 }),
    });
    expect(embed.status).toBe(400);
    // A length set behind the budget's back, as a vendor option, is refused too.
    const err = await failure(world.gw.client("connect", secret).chat({ model: "gpt-4o", messages: [{ role: Role.USER, content: "hi" }], vendorOptions: { max_tokens: 100_000 } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("vendor_options.max_tokens: set max_tokens instead");
    expect(world.fake.chatRequests().length).toBe(calls);
    expect(await spent(`numbers-${tag}`)).toBe(0);
  });

  it("only grows a key's spend, and never lets it pass the budget by more than one call, however large the answer asked for", async () => {
    const keyId = `huge-${tag}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: "huge asks", budget: { limit: { units: 20n } } } });
    const client = world.gw.client("connect", secret);
    const huge = { model: "gpt-4o", messages: [{ role: Role.USER, content: "hi" }], maxTokens: 2 ** 31 - 1 };
    const code = (err: unknown) => String((err as { code: Code }).code);
    const vendorRefuses = () => world.fake.enqueue({ kind: "error", status: 400, body: { error: { message: "bad", type: "invalid_request_error" } } });
    const steps: [string, () => Promise<string>, string, number][] = [
      ["connect, the largest max_tokens", () => client.chat(huge).then(() => "ok", code), "ok", 6],
      ["REST, max_tokens 1e30", () => rest(secret, { max_tokens: 1e30 }).then((r) => String(r.status)), "400", 6],
      ["connect, refused by the vendor", () => (vendorRefuses(), client.chat(huge).then(() => "ok", code)), String(Code.InvalidArgument), 6],
      ["REST, the largest max_tokens", () => rest(secret, { max_tokens: 2 ** 31 - 1 }).then((r) => String(r.status)), "200", 12],
      ["REST, max_tokens 3.5", () => rest(secret, { max_tokens: 3.5 }).then((r) => String(r.status)), "400", 12],
      ["REST stream, refused by the vendor", () => (vendorRefuses(), rest(secret, { max_tokens: 2 ** 31 - 1, stream: true }).then((r) => String(r.status))), "400", 12],
      ["connect, the largest max_tokens", () => client.chat(huge).then(() => "ok", code), "ok", 18],
      // $18 of $20 spent: one more call is let through, and it is the last.
      ["connect, the largest max_tokens", () => client.chat(huge).then(() => "ok", code), "ok", 24],
      ["connect, over the budget", () => client.chat(huge).then(() => "ok", code), String(Code.ResourceExhausted), 24],
    ];
    let last = 0;
    for (const [what, call, outcome, total] of steps) {
      expect(await call(), what).toBe(outcome);
      const now = await spent(keyId);
      expect(now, `spend after "${what}"`).toBeGreaterThanOrEqual(last);
      expect(now, `spend after "${what}"`).toBe(total);
      last = now;
    }
    expect(last).toBeLessThanOrEqual(20 + CALL_COST);
  });

  it("holds the budget under a burst of calls with images, which cost by their size and not their text", async () => {
    const keyId = `images-${tag}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: "images", budget: { limit: { units: 20n } } } });
    const image = { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } };
    const results = await Promise.all(
      Array.from({ length: 6 }, () => rest(secret, { max_tokens: 1, messages: [{ role: "user", content: [{ type: "text", text: "hi" }, image, image] }] }).then((r) => r.status)),
    );
    // The fake bills each image as OpenAI's largest (1,445 tokens, $1 a token): one call spends far past
    // $20, so the reservation of every call must hold the whole budget until it settles.
    expect(results.filter((status) => status === 200)).toHaveLength(1);
    expect(results.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    const oneCall = 1 + 2 * 1_445 + 3 + 1; // "hi", two images and the message's framing; one token of answer
    expect(await spent(keyId)).toBe(oneCall);
  });

  it("holds the budget under a burst of calls that set no max_tokens", async () => {
    const keyId = `burst-${tag}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: "burst", budget: { limit: { units: 20n } } } });
    const client = world.gw.client("connect", secret);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        client.chat({ model: "gpt-4o", messages: [{ role: Role.USER, content: "hi" }] }).then(
          () => "ok",
          (err: unknown) => (err as { code: Code }).code,
        ),
      ),
    );
    expect(results.filter((r) => r !== "ok").every((r) => r === Code.ResourceExhausted)).toBe(true);
    // Each call reserves the most it could cost (capped at the budget) until it settles.
    const final = await spent(keyId);
    expect(final).toBe(results.filter((r) => r === "ok").length * CALL_COST);
    expect(final).toBeLessThanOrEqual(20 + CALL_COST);
  });

  it("reserves for the dearest candidate: calls that fail over to a pricier fallback still hold the budget", async () => {
    const keyId = `fallback-${tag}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: "fallback", budget: { limit: { units: 10n } } } });
    const client = world.gw.client("connect", secret);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.chat({ model: "combo", messages: [{ role: Role.USER, content: "hi" }], maxTokens: 50 }).then(
          (answer) => answer.model,
          (err: unknown) => (err as { code: Code }).code,
        ),
      ),
    );
    // The first candidate's bound is 6 cents; gpt-4o's, which serves, $55 (so the whole budget): one call holds it at a time.
    expect(results.filter((r) => r === "gpt-4o").length).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r !== "gpt-4o").every((r) => r === Code.ResourceExhausted)).toBe(true);
    expect(await spent(keyId)).toBeLessThanOrEqual(10 + CALL_COST);
  });

  it("charges a call cut after its request went out for its prompt, never nothing", async () => {
    const keyId = `cut-${tag}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: "cut", budget: { limit: { units: 100n } } } });
    const client = world.gw.client("connect", secret);
    const hello = { model: "gpt-4o", messages: [{ role: Role.USER, content: "hi" }] };
    const cutOff = async (send: (signal: AbortSignal) => Promise<unknown>) => {
      world.fake.enqueue({ kind: "hang" });
      const before = world.fake.chatRequests().length;
      const abort = new AbortController();
      const sent = send(abort.signal).catch((err: unknown) => err);
      await vi.waitFor(() => expect(world.fake.chatRequests().length).toBe(before + 1));
      abort.abort();
      expect(await sent).toBeInstanceOf(Error);
    };
    // "hi" is estimated at 1 token plus 3 for the message's framing: $4 at $1 a token.
    await cutOff((signal) => client.chat(hello, { signal }));
    await vi.waitFor(async () => expect(await spent(keyId)).toBe(4));
    // A stream cut before its first token alike.
    await cutOff(async (signal) => {
      for await (const _ of client.chatStream(hello, { signal }));
    });
    await vi.waitFor(async () => expect(await spent(keyId)).toBe(8));
  });
});

describe("token limits with a huge max_tokens", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world.close());

  it("reconciles a call against the tokens its admission took, so a huge max_tokens gives nothing back", async () => {
    const { secret } = await world.admin().createKey({ keyId: "tpm-huge", key: { displayName: "tpm", tokensPerMinute: 20n } });
    const client = world.gw.client("connect", secret);
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(" ");
    const call = () => client.chat({ model: "gpt-4o", messages: [{ role: Role.USER, content: words }], maxTokens: 2 ** 31 - 1 });
    // The first call takes the whole minute (20 tokens) and uses about 65: the key is in debt.
    await call();
    const err = await failure(call());
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/over its limit of 20 tokens per minute/);
  });
});
