// The gateway's own secrets are shaped like no key: a master key made as the
// docs say (`openssl rand -base64 32`: runs broken by + / =, or `-hex 32`: one
// case) passes every pattern of a key's shape. Pasted as a model name or as
// x-request-id, one must still reach no log line, metric label, span or
// ledger row, and no vendor: the model is refused before routing
// (SECRET_IN_FIELD), the request id replaced, and whatever the gateway masks
// finds the known secrets too, whatever their shape.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { openCallRecord, pipelineContext } from "../../src/api/envelope/call-record.js";
import { BoundedLabel, OTHER } from "../../src/observability/bounded-labels.js";
import { createLogger } from "../../src/observability/logger.js";
import { holdsKey, holdsKnownSecret, maskKeys, maskLogText, rememberOwnSecret } from "../../src/providers/redact.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";

/** Made by `openssl rand -base64 32`: its runs of letters and digits are shorter than 32, so not key-shaped. */
const MASTER_KEY = "COLxxv8zPN1YXdpmI5lm/AIaxc8ReQC/V+va9gVdRSM=";
/** `openssl rand -hex 32`: no upper case, so not key-shaped; and a sane request id. */
const METRICS_TOKEN = randomBytes(32).toString("hex");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("the masking helpers, once the gateway's own secrets are known", () => {
  beforeAll(() => {
    rememberOwnSecret(MASTER_KEY);
    rememberOwnSecret(METRICS_TOKEN);
  });

  it("find them whatever their shape, whole as written; log lines in any case or cut short too", () => {
    expect(maskKeys(`openai/${MASTER_KEY}`)).toBe("openai/[redacted]");
    // A caller's text is masked only where it holds a whole secret (partial-secret-oracle.test.ts); no caller reads a log line.
    expect(maskKeys(`req ${METRICS_TOKEN.toUpperCase()} end`)).toBe(`req ${METRICS_TOKEN.toUpperCase()} end`);
    expect(maskLogText(`req ${METRICS_TOKEN.toUpperCase()} end`)).toBe("req [redacted] end");
    expect(maskLogText(`x-${METRICS_TOKEN.slice(5, 30)}`)).toBe("x-[redacted]");
    for (const secret of [MASTER_KEY, METRICS_TOKEN]) {
      expect(holdsKey(secret)).toBe(true);
      expect(holdsKnownSecret(`openai/${secret}`)).toBe(true);
    }
    expect(holdsKnownSecret("gpt-4o-mini-2024-07-18")).toBe(false);
    expect(maskKeys(maskKeys(MASTER_KEY))).toBe("[redacted]");
  });

  it("keep them out of the call's record, its labels and any log line", async () => {
    const record = openCallRecord("m", "rest", new Headers({ "x-request-id": METRICS_TOKEN }), (h, n) => h.get(n));
    expect(record.requestId).toMatch(UUID);
    // A piece of one too (log lines mask pieces of 12 characters or more): the id goes into spans and ledger rows as it is.
    const piece = openCallRecord("m", "rest", new Headers({ "x-request-id": `req-${METRICS_TOKEN.slice(3, 23)}` }), (h, n) => h.get(n));
    expect(piece.requestId).toMatch(UUID);
    expect(openCallRecord("m", "rest", new Headers({ "x-request-id": "req-0123456789" }), (h, n) => h.get(n)).requestId).toBe("req-0123456789");
    const ctx = pipelineContext(record, { keyId: "k", admin: false } as never, new AbortController().signal, undefined);
    ctx.report?.({ requestedModel: `openai/${MASTER_KEY}`, model: MASTER_KEY, downgraded: false });
    expect(record.report).toMatchObject({ requestedModel: "openai/[redacted]", model: "[redacted]" });
    expect(new BoundedLabel(10).of(MASTER_KEY)).toBe(OTHER);

    const lines: string[] = [];
    const logger = createLogger("info", new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString("utf8")), done()) }));
    // As the unpriced-model warning logs a vendor's model name.
    logger.warn({ provider: "openai", model: MASTER_KEY }, `no price for ${METRICS_TOKEN}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.join("")).not.toContain(MASTER_KEY);
    expect(lines.join("")).not.toContain(METRICS_TOKEN);
    expect(JSON.parse(lines[0]!)).toMatchObject({ model: "[redacted]", msg: "no price for [redacted]" });
  });
});

describe("a gateway whose master key is shaped like no key", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const dataDir = tempDir();
  const messages = [{ role: Role.USER, content: "hi" }];
  const rest = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o-mini", "text-embedding-3-small"] });
    gw = await startGateway(
      { SWITCHBOARD_MASTER_KEY: MASTER_KEY, SWITCHBOARD_METRICS_TOKEN: METRICS_TOKEN, OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_DATA_DIR: dataDir },
      { ledger: { flush_interval_ms: 50 } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("refuses it as a model on Connect, before any vendor sees it, naming the field and never the text", async () => {
    const before = fake.requests.length;
    for (const model of [`openai/${MASTER_KEY}`, MASTER_KEY, `openai/${METRICS_TOKEN}`]) {
      const err = await failure(gw.client("connect", MASTER_KEY).chat({ model, messages }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "SECRET_IN_FIELD", metadata: { field: "model" } });
      expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["model"]);
      expect(err.rawMessage).not.toContain(MASTER_KEY);
    }
    const embed = await failure(gw.client("grpc", MASTER_KEY).embed({ model: `openai/${MASTER_KEY}`, inputs: ["hi"] }));
    expect(embed.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SECRET_IN_FIELD");
    expect(fake.requests.length).toBe(before);
  });

  it("refuses it as a model on REST too (Chat Completions, Messages, Embeddings)", async () => {
    const before = fake.requests.length;
    const chat = await rest("/v1/chat/completions", { model: `openai/${MASTER_KEY}`, messages: [{ role: "user", content: "hi" }] });
    expect(chat.status).toBe(400);
    const text = await chat.text();
    expect(text).not.toContain(MASTER_KEY);
    expect(JSON.parse(text).error).toMatchObject({ param: "model" });
    const messagesCall = await rest("/v1/messages", { model: `openai/${MASTER_KEY}`, max_tokens: 5, messages: [{ role: "user", content: "hi" }] });
    expect(messagesCall.status).toBe(400);
    expect(await messagesCall.text()).not.toContain(MASTER_KEY);
    const embeddings = await rest("/v1/embeddings", { model: `openai/${MASTER_KEY}`, input: "hi" });
    expect(embeddings.status).toBe(400);
    expect(await embeddings.text()).not.toContain(MASTER_KEY);
    expect(fake.requests.length).toBe(before);
  });

  it("replaces a request id that holds one, and serves the call", async () => {
    const res = await rest("/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, { "x-request-id": METRICS_TOKEN });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(UUID);
    const answer = await gw.client("connect", MASTER_KEY).chat({ model: "gpt-4o-mini", messages }, { headers: { "x-request-id": METRICS_TOKEN } });
    expect(answer.requestId).toMatch(UUID);
  });

  it("keeps neither in a log line, a metric label or a ledger row", async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(metrics).toContain("switchboard_requests_total");
    await gw.stop();
    for (const secret of [MASTER_KEY, METRICS_TOKEN]) {
      expect(gw.logs.text).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
    const db = new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const stored = JSON.stringify(await db.query("SELECT * FROM usage_ledger"));
      expect(stored).toContain("gpt-4o-mini");
      for (const secret of [MASTER_KEY, METRICS_TOKEN]) expect(stored).not.toContain(secret);
    } finally {
      await db.close();
    }
  });
});
