import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import type { ChatStreamResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { cacheCommand } from "../../src/cli/cache-command.js";
import { usageCommand } from "../../src/cli/usage-command.js";
import { MASTER_KEY, type TestGateway } from "../support/gateway.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

/** A deterministic question (temperature 0): cached by default. */
const ask = (content: string, fields: Record<string, unknown> = {}) => ({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content }], temperature: 0, ...fields });

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

async function cli(command: typeof usageCommand, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await command(args, { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function rest(gw: TestGateway, body: Record<string, unknown>, headers: Record<string, string> = {}, key = MASTER_KEY) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, cache: res.headers.get("x-switchboard-cache"), text: await res.text() };
}

/** A REST stream's content, as an OpenAI SDK would assemble it. */
function streamedContent(sse: string): string {
  return sse
    .split("\n\n")
    .filter((event) => event.startsWith("data: {"))
    .map((event) => JSON.parse(event.slice(6)).choices?.[0]?.delta?.content ?? "")
    .join("");
}

async function collect(stream: AsyncIterable<ChatStreamResponse>) {
  let content = "";
  let summary;
  for await (const event of stream) {
    if (event.event.case === "delta") content += event.event.value.content;
    else summary = event.event.value;
  }
  return { content, summary: summary! };
}

const restBody = (content: string, fields: Record<string, unknown> = {}) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content }], temperature: 0, ...fields });

// One gateway, no Redis: the cache is this process's memory (L1).
describe("the response cache in one gateway", () => {
  let world: UsageWorld;
  let gw: TestGateway;
  const vendorCalls = () => world.fake.chatRequests().length;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite", {
      routes: [
        { model: "shared-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "route" } },
        { model: "hr-bot", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "route" } },
        { model: "team-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "team" } },
        { model: "every-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { mode: "always" } },
        { model: "no-cache-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { mode: "off" } },
        // gpt-3.5-turbo takes no JSON schema: one route refuses such a request, the other degrades it.
        { model: "strict-bot", provider: "openai", upstream_model: "gpt-3.5-turbo", when_unsupported: "refuse" },
        { model: "lenient-bot", provider: "openai", upstream_model: "gpt-3.5-turbo", when_unsupported: "degrade" },
      ],
    });
    gw = world.gw;
  });
  afterAll(() => world.close());

  it("answers an identical deterministic call from the cache, and says so", async () => {
    const client = gw.client("connect");
    const first = await client.chat(ask("What is the capital of France?"));
    const calls = vendorCalls();
    const second = await client.chat(ask("What is the capital of France?"));
    expect(vendorCalls()).toBe(calls);
    expect(first).toMatchObject({ cached: false, coalesced: false });
    expect(second).toMatchObject({ cached: true, coalesced: false, provider: "openai", model: "gpt-4o-mini", requestedModel: "gpt-4o-mini", attempts: [] });
    expect(second.message).toEqual(first.message);
    expect(second.usage).toEqual(first.usage);
    expect(second.requestId).not.toBe(first.requestId);
    // gRPC reads the same entry.
    expect(await gw.client("grpc").chat(ask("What is the capital of France?"))).toMatchObject({ cached: true });
    // An alias that routes to the same model shares it too.
    expect(await client.chat(ask("What is the capital of France?", { model: "every-model" }))).toMatchObject({ cached: true, requestedModel: "every-model" });
    expect(vendorCalls()).toBe(calls);

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_cache_hits_total\{level="l1",provider="openai",model="gpt-4o-mini"\} [3-9]/);
    expect(metrics).toMatch(/switchboard_cache_memory\{measure="entries"\} [1-9]/);
  });

  it("a route that refuses a request is not served the answer a degrading route cached for it", async () => {
    const schema = { response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "string" } } } } } };
    const body = (model: string) => ({ ...restBody("give json", schema), model });
    expect((await rest(gw, body("strict-bot"))).status).toBe(501);
    const degraded = await rest(gw, body("lenient-bot"));
    expect(degraded).toMatchObject({ status: 200, cache: "miss" });
    expect((await rest(gw, body("lenient-bot"))).cache).toBe("hit");
    expect((await rest(gw, body("strict-bot"))).status).toBe(501);
  });

  it("says hit or miss in x-switchboard-cache on REST", async () => {
    const miss = await rest(gw, restBody("REST question"));
    const hit = await rest(gw, restBody("REST question"));
    expect([miss.status, miss.cache, hit.status, hit.cache]).toEqual([200, "miss", 200, "hit"]);
    expect(JSON.parse(hit.text).choices[0].message.content).toBe(JSON.parse(miss.text).choices[0].message.content);
  });

  it("caches only deterministic calls by default; a route can cache every call or none", async () => {
    const client = gw.client("connect");
    const before = vendorCalls();
    const warm = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "a poem" }], temperature: 0.8 };
    expect([(await client.chat(warm)).cached, (await client.chat(warm)).cached]).toEqual([false, false]);
    const seeded = { ...warm, seed: 42n };
    expect([(await client.chat(seeded)).cached, (await client.chat(seeded)).cached]).toEqual([false, true]);
    const always = { ...warm, model: "every-poem" };
    expect([(await client.chat(always)).cached, (await client.chat(always)).cached]).toEqual([false, true]);
    const off = ask("never kept", { model: "no-cache-model" });
    expect([(await client.chat(off)).cached, (await client.chat(off)).cached]).toEqual([false, false]);
    expect(vendorCalls() - before).toBe(2 + 1 + 1 + 2);
  });

  it("replays a cached answer as a stream, its content byte for byte the original's", async () => {
    const client = gw.client("connect");
    const question = ask("Tell me a long story about a lighthouse keeper and the sea.");
    const original = await collect(client.chatStream(question));
    const calls = vendorCalls();
    const replayed = await collect(client.chatStream(question));
    expect(vendorCalls()).toBe(calls);
    expect(Buffer.from(replayed.content)).toEqual(Buffer.from(original.content));
    expect(original.summary).toMatchObject({ cached: false });
    expect(replayed.summary).toMatchObject({ cached: true, finishReason: original.summary.finishReason, usage: original.summary.usage, provider: "openai", model: "gpt-4o-mini" });
    // A streamed answer serves a unary call, and the REST stream, alike.
    const unary = await client.chat(question);
    expect([unary.cached, unary.message?.content]).toEqual([true, original.content]);
    const sse = await rest(gw, { ...restBody("Tell me a long story about a lighthouse keeper and the sea."), stream: true });
    expect(sse.cache).toBe("hit");
    expect(streamedContent(sse.text)).toBe(original.content);
    expect(sse.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(vendorCalls()).toBe(calls);
  });

  it("refreshes on Cache-Control: no-cache and leaves the cache out on no-store", async () => {
    const first = await rest(gw, restBody("refresh me"));
    await new Promise((resolve) => setTimeout(resolve, 5)); // the fake's ids carry the millisecond
    let calls = vendorCalls();
    const refreshed = await rest(gw, restBody("refresh me"), { "cache-control": "no-cache" });
    expect([refreshed.cache, vendorCalls()]).toEqual(["miss", calls + 1]);
    const after = await rest(gw, restBody("refresh me"));
    expect(after.cache).toBe("hit");
    // The refresh replaced the entry: the hit is the refreshed answer.
    expect(JSON.parse(after.text).id).toBe(JSON.parse(refreshed.text).id);
    expect(JSON.parse(after.text).id).not.toBe(JSON.parse(first.text).id);

    calls = vendorCalls();
    expect((await rest(gw, restBody("refresh me"), { "cache-control": "no-store" })).cache).toBe("miss");
    expect(vendorCalls()).toBe(calls + 1);
    // no-store keeps nothing either.
    expect((await rest(gw, restBody("never stored"), { "cache-control": "no-store" })).cache).toBe("miss");
    expect((await rest(gw, restBody("never stored"))).cache).toBe("miss");

    // The typed API's field does the same.
    const client = gw.client("connect");
    await client.chat(ask("typed refresh"));
    calls = vendorCalls();
    expect((await client.chat(ask("typed refresh", { cacheControl: CacheControl.NO_CACHE }))).cached).toBe(false);
    expect((await client.chat(ask("typed refresh", { cacheControl: CacheControl.NO_STORE }))).cached).toBe(false);
    expect((await client.chat(ask("typed refresh"))).cached).toBe(true);
    expect(vendorCalls()).toBe(calls + 2);

    // A directive the contract does not know is refused, naming the field, rather than read as none.
    const unknown = await client.chat(ask("typed refresh", { cacheControl: 7 })).catch((err: unknown) => ConnectError.from(err));
    expect((unknown as ConnectError).code).toBe(Code.InvalidArgument);
    expect((unknown as ConnectError).findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field)).toEqual(["cache_control"]);
  });

  it("does not let one caller's refresh replace the answer a team or a route shares, but fills it when there is none", async () => {
    const admin = world.admin();
    const [a, b] = await Promise.all([admin.createKey({ key: { displayName: "refresher", team: "green" } }), admin.createKey({ key: { displayName: "teammate", team: "green" } })]);
    const idOf = (answer: { text: string }) => JSON.parse(answer.text).id as string;
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5)); // the fake's ids carry the millisecond
    for (const model of ["shared-model", "team-model"]) {
      const body = restBody(`a shared question for ${model}`, { model });
      const first = await rest(gw, body, {}, a.secret);
      await pause();
      const calls = vendorCalls();
      const refreshed = await rest(gw, body, { "cache-control": "no-cache" }, b.secret);
      // The refresh is answered afresh by the vendor...
      expect([refreshed.cache, vendorCalls()]).toEqual(["miss", calls + 1]);
      expect(idOf(refreshed)).not.toBe(idOf(first));
      // ...but every caller of the partition, the refresher too, is still served the answer kept before it.
      for (const key of [a, b]) {
        const after = await rest(gw, body, {}, key.secret);
        expect([after.cache, idOf(after)]).toEqual(["hit", idOf(first)]);
      }
    }
    // A refresh of a shared question no one asked yet fills the partition.
    const fresh = restBody("a shared question never asked", { model: "shared-model" });
    const filled = await rest(gw, fresh, { "cache-control": "no-cache" }, b.secret);
    expect(idOf(await rest(gw, fresh, {}, a.secret))).toBe(idOf(filled));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_cache_not_stored_total\{reason="shared_entry_kept"\} 2/);
  });

  it("keeps each key's answers to itself, unless the route shares them with the team or everyone", async () => {
    const admin = world.admin();
    const [a, b, c] = await Promise.all([
      admin.createKey({ key: { displayName: "tenant a", team: "red" } }),
      admin.createKey({ key: { displayName: "tenant b", team: "blue" } }),
      admin.createKey({ key: { displayName: "tenant c", team: "red" } }),
    ]);
    const as = (key: { secret: string }) => gw.client("connect", key.secret);
    const question = ask("What is our secret roadmap?");
    expect((await as(a).chat(question)).cached).toBe(false);
    expect((await as(b).chat(question)).cached).toBe(false);
    expect((await as(c).chat(question)).cached).toBe(false);
    expect((await as(a).chat(question)).cached).toBe(true);

    const teamQuestion = ask("team question", { model: "team-model" });
    expect((await as(a).chat(teamQuestion)).cached).toBe(false);
    expect((await as(c).chat(teamQuestion)).cached).toBe(true);
    expect((await as(b).chat(teamQuestion)).cached).toBe(false);

    const sharedQuestion = ask("public question", { model: "shared-model" });
    expect((await as(a).chat(sharedQuestion)).cached).toBe(false);
    expect((await as(b).chat(sharedQuestion)).cached).toBe(true);

    // Another route that shares its answers shares them with its own callers only, though it serves the same model.
    const hrQuestion = ask("Is Bob on the layoff list?", { model: "hr-bot" });
    expect((await as(a).chat(hrQuestion)).cached).toBe(false);
    expect((await as(c).chat(hrQuestion)).cached).toBe(true);
    expect((await as(b).chat({ ...hrQuestion, model: "shared-model" })).cached).toBe(false);
  });

  it("counts a hit against the key's requests per minute, not its tokens or budget, and records what it saved", async () => {
    const admin = world.admin();
    // gpt-4o costs $1 a token here; each call estimates 200 + a few tokens against 600 a minute, and reserves up to $300 of $1,000.
    const { secret, key } = await admin.createKey({ keyId: "hits-key", key: { displayName: "hits", requestsPerMinute: 6, tokensPerMinute: 600n, budget: { limit: { units: 1000n } } } });
    const client = gw.client("connect", secret);
    const question = ask("How many tokens?", { model: "gpt-4o", maxTokens: 200 });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await client.chat(question));
    expect(answers.map((answer) => answer.cached)).toEqual([false, true, true, true, true, true]);
    const refused = await client.chat(question).catch((err: unknown) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect([(refused as ConnectError).code, (refused as ConnectError).findDetails(ErrorInfoSchema)[0]?.metadata.limit]).toEqual([Code.ResourceExhausted, "requests_per_minute"]);

    // The spend is the one vendor call's (tokens at $1 each); each hit saved as much.
    const cost = answers[0]!.usage!.promptTokens + answers[0]!.usage!.completionTokens;
    const spent = (await admin.getKey({ name: key!.name })).key?.budgetStatus?.spent;
    expect(Number(spent?.units)).toBe(cost);

    // The refused call is not a row: it was refused before its request was read (UsageHooks.screen).
    const report = await admin.getUsageReport({ key: "keys/hits-key" });
    expect(report.total).toMatchObject({ requests: 6n, cacheHits: 5n, errors: 0n, cost: { units: BigInt(cost) }, savedCost: { units: BigInt(5 * cost) } });

    const env = { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY };
    const printed = await cli(usageCommand, ["--key", "hits-key"], env);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/CACHE_HITS\s+SAVED_USD/);
    expect(printed.stdout).toContain(`5  ${(5 * cost).toFixed(6)}\n`);
    const json = JSON.parse((await cli(usageCommand, ["--key", "hits-key", "--json"], env)).stdout);
    expect(json.total).toMatchObject({ cacheHits: 5, savedCost: 5 * cost, cost });

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`switchboard_cache_saved_cost_total{provider="openai",model="gpt-4o",currency="USD"} ${5 * cost}`);
  });

  it("purges a key's entries from the admin API and the CLI", async () => {
    const admin = world.admin();
    const { secret } = await admin.createKey({ keyId: "purged-key", key: { displayName: "purged" } });
    const client = gw.client("connect", secret);
    await client.chat(ask("purge me"));
    await client.chat(ask("purge me too"));
    expect((await client.chat(ask("purge me"))).cached).toBe(true);
    const purged = await cli(cacheCommand, ["purge", "--key", "purged-key"], { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY });
    expect(purged).toMatchObject({ code: 0, stdout: "purged 2 cached answers\n" });
    expect((await client.chat(ask("purge me"))).cached).toBe(false);

    // By model: only that model's answers go.
    await client.chat(ask("by model", { model: "gpt-4o" }));
    expect((await admin.purgeCache({ model: "openai/gpt-4o-mini" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect((await client.chat(ask("by model", { model: "gpt-4o" }))).cached).toBe(true);
    expect((await client.chat(ask("purge me"))).cached).toBe(false);

    const empty = await admin.purgeCache({}).catch((err: unknown) => ConnectError.from(err));
    expect((empty as ConnectError).code).toBe(Code.InvalidArgument);
    // Filters are short lines of text: a megabyte of team, or a NUL in a model, is refused naming the field.
    for (const [field, bad] of [["team", "t".repeat(1_000_000)], ["model", "gpt-4o\u0000mini"]] as const) {
      const refused = await admin.purgeCache({ [field]: bad }).catch((err: unknown) => ConnectError.from(err));
      expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
      expect((refused as ConnectError).rawMessage).toContain(field);
    }
    expect((await cli(cacheCommand, ["purge"], { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY })).code).toBe(2);
  });
});
