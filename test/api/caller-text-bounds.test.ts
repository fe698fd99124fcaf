// What a caller sends must not decide the size of the error it gets back, or
// of the log line the call writes: violations are listed up to a bound, filters
// take a bounded number of clauses, model names a bounded length, and error
// messages quote a caller's text only in part.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { FieldViolations, MAX_FIELD_VIOLATIONS } from "../../src/api/aip/field-violations.js";
import { MAX_FILTER_CLAUSES, parseFilter } from "../../src/api/aip/filter.js";
import { MAX_MODEL_NAME_CHARS, validateChat, validateEmbed } from "../../src/api/validate.js";
import { EXCERPT_CHARS, excerpt } from "../../src/common/excerpt.js";
import { Router } from "../../src/gateway/router.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** What `fn` threw, as a ConnectError (a RangeError or the like fails the test). */
function thrown(fn: () => void): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("nothing was thrown");
}

const chat = (fields: MessageInitShape<typeof ChatRequestSchema>) => create(ChatRequestSchema, { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }], ...fields });
const embed = (fields: MessageInitShape<typeof EmbedRequestSchema>) => create(EmbedRequestSchema, { model: "text-embedding-3-small", inputs: ["x"], ...fields });
const violations = (err: ConnectError) => err.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];

describe("violations: the first few, then how many more", () => {
  it("lists 20 and a note naming the first left out and the count", () => {
    const v = new FieldViolations();
    for (let i = 0; i < 100_000; i++) v.add(`messages[${i}].role`, "is required");
    const err = thrown(() => v.throwIfAny());
    expect(err.code).toBe(Code.InvalidArgument);
    const listed = violations(err);
    expect(listed).toHaveLength(MAX_FIELD_VIOLATIONS + 1);
    expect(listed[MAX_FIELD_VIOLATIONS - 1]?.field).toBe(`messages[${MAX_FIELD_VIOLATIONS - 1}].role`);
    expect(listed[MAX_FIELD_VIOLATIONS]).toMatchObject({ field: `messages[${MAX_FIELD_VIOLATIONS}].role`, description: `not listed, from this field on: ${100_000 - MAX_FIELD_VIOLATIONS} more violations (an answer lists the first ${MAX_FIELD_VIOLATIONS})` });
    expect(err.rawMessage.length).toBeLessThan(2_000);
  });

  it("lists them all, with no note, up to the bound", () => {
    const v = new FieldViolations();
    for (let i = 0; i < MAX_FIELD_VIOLATIONS; i++) v.add(`inputs[${i}]`, "must not be empty");
    expect(violations(thrown(() => v.throwIfAny())).map((f) => f.field)).toEqual(Array.from({ length: MAX_FIELD_VIOLATIONS }, (_, i) => `inputs[${i}]`));
  });

  it("says 'violation' for one left out", () => {
    const v = new FieldViolations();
    for (let i = 0; i <= MAX_FIELD_VIOLATIONS; i++) v.add("filter", "x");
    expect(violations(thrown(() => v.throwIfAny())).at(-1)?.description).toBe(`not listed, from this field on: 1 more violation (an answer lists the first ${MAX_FIELD_VIOLATIONS})`);
  });

  it("300,000 empty messages are an InvalidArgument, not a stack overflow", () => {
    const err = thrown(() => validateChat(chat({ messages: Array.from({ length: 300_000 }, () => ({})) })));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violations(err)).toHaveLength(MAX_FIELD_VIOLATIONS + 1);
  });
});

describe("filters: a bounded number of clauses", () => {
  const FIELDS = ["team", "admin", "state"] as const;
  const read = (filter: string) => {
    const v = new FieldViolations();
    const terms = parseFilter(filter, FIELDS, 'team = "…"', v);
    let err: ConnectError | undefined;
    try {
      v.throwIfAny();
    } catch (e) {
      err = e as ConnectError;
    }
    return { terms, err };
  };

  it(`takes ${MAX_FILTER_CLAUSES} clauses`, () => {
    // Each of another field: a field compared twice is refused on its own.
    const fields = Array.from({ length: MAX_FILTER_CLAUSES }, (_, i) => `f${i}`);
    const v = new FieldViolations();
    const terms = parseFilter(fields.map((field) => `${field} = true`).join(" AND "), fields, 'f0 = "…"', v);
    expect(() => v.throwIfAny()).not.toThrow();
    expect(terms).toHaveLength(MAX_FILTER_CLAUSES);
  });

  it.each([MAX_FILTER_CLAUSES + 1, 120_000])("refuses %i clauses with one violation naming the limit", (count) => {
    const { terms, err } = read(Array.from({ length: count }, () => "a").join(" AND "));
    expect(terms).toEqual([]);
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toBe(`filter: at most ${MAX_FILTER_CLAUSES} clauses joined by AND`);
  });

  it("reads a filter with long runs of white space in one pass, and quotes a long clause only in part", () => {
    const { err } = read(`team = a ${" ".repeat(1_000_000)}x`);
    expect(err?.rawMessage).toBe(`filter: cannot read "${excerpt(`team = a ${" ".repeat(1_000_000)}x`)}": use team = "…", joined by AND`);
    expect(read(`${" ".repeat(1_000_000)}AND team = a`).err?.rawMessage.length).toBeLessThan(400);
  });

  it("parts clauses where it did before", () => {
    expect(read('  team = "x"   AND  state = ACTIVE  ').terms).toEqual([{ field: "team", value: "x" }, { field: "state", value: "ACTIVE" }]);
    expect(read("team = a AND AND state = b").err?.rawMessage).toContain('cannot read "AND state = b"');
  });
});

describe("model names and quoted caller text", () => {
  it(`takes a model name of ${MAX_MODEL_NAME_CHARS} characters, refuses a longer one, naming the limit`, () => {
    expect(() => validateChat(chat({ model: "m".repeat(MAX_MODEL_NAME_CHARS) }))).not.toThrow();
    expect(() => validateEmbed(embed({ model: "m".repeat(MAX_MODEL_NAME_CHARS) }))).not.toThrow();
    for (const err of [thrown(() => validateChat(chat({ model: "m".repeat(7_000_000) }))), thrown(() => validateEmbed(embed({ model: "m".repeat(MAX_MODEL_NAME_CHARS + 1) })))]) {
      expect(err.code).toBe(Code.InvalidArgument);
      expect(violations(err)[0]?.field).toBe("model");
      expect(err.rawMessage).toMatch(new RegExp(`^model: must be at most ${MAX_MODEL_NAME_CHARS} characters, got \\d+$`));
    }
  });

  it("refuses a model name with a control character: it would reach the ledger, where Postgres text cannot hold NUL", () => {
    for (const model of ["gpt-4o\u0000x", "gpt-4o\nx", "gpt-4o\u001b[2J"]) {
      for (const err of [thrown(() => validateChat(chat({ model }))), thrown(() => validateEmbed(embed({ model })))]) {
        expect(err.code).toBe(Code.InvalidArgument);
        expect(err.rawMessage).toBe("model: must not contain control characters");
      }
    }
  });

  it("quotes a tool_choice function name or a twice-declared tool name only in part", () => {
    const long = "t".repeat(1_000_000);
    const err = thrown(() => validateChat(chat({ tools: [{ name: long }, { name: long }], toolChoice: { choice: { case: "functionName", value: `${long}x` } } })));
    expect(err.rawMessage).toContain(`tools[1].name: "${"t".repeat(EXCERPT_CHARS)}…" is declared twice`);
    expect(err.rawMessage).toContain(`tool_choice.function_name: "${"t".repeat(EXCERPT_CHARS)}…" is not among the tools`);
    expect(err.rawMessage.length).toBeLessThan(1_000);
  });

  it("the router's model-not-found quotes the model only in part", () => {
    const router = new Router([{ model: "gpt-*", provider: "openai" }], new Set(["openai"]));
    const err = thrown(() => router.resolve(`x${"m".repeat(100_000)}`));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toMatch(new RegExp(`^model "xm{${EXCERPT_CHARS - 1}}…" is not available: no route serves it`));
  });

  it("excerpt keeps short text whole, and never parts a surrogate pair", () => {
    expect(excerpt("gpt-4o")).toBe("gpt-4o");
    expect(excerpt("m".repeat(EXCERPT_CHARS))).toBe("m".repeat(EXCERPT_CHARS));
    expect(excerpt(`${"m".repeat(EXCERPT_CHARS - 1)}😀😀`)).toBe(`${"m".repeat(EXCERPT_CHARS - 1)}…`);
    expect(excerpt(`${"m".repeat(EXCERPT_CHARS - 2)}😀😀`)).toBe(`${"m".repeat(EXCERPT_CHARS - 2)}😀…`);
  });
});

describe("every surface refuses an overlong model name before routing it", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const model = `gpt-${"m".repeat(100_000)}`;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it.each<[string, Record<string, unknown>]>([
    ["/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/embeddings", { model, input: "hi" }],
    ["/v1/messages", { model, max_tokens: 5, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/messages/count_tokens", { model, messages: [{ role: "user", content: "hi" }] }],
    ["/v1/responses", { model, input: "hi", store: false }],
  ])("REST %s: 400 naming the limit, a small answer and log line", async (path, body) => {
    const answer = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await answer.text();
    expect(answer.status).toBe(400);
    expect(text).toContain(`at most ${MAX_MODEL_NAME_CHARS} characters`);
    expect(text.length).toBeLessThan(2_000);
    await expect.poll(() => gw.logs.lines.filter((line) => line.includes(`at most ${MAX_MODEL_NAME_CHARS} characters`)).length).toBeGreaterThan(0);
    expect(Math.max(...gw.logs.lines.map((line) => line.length))).toBeLessThan(5_000);
  });

  it("the not-found answers for a model id in the path or a previous_response_id quote them only in part", async () => {
    const headers = { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" };
    const byPath = await fetch(`${gw.url}/v1/models/${"m".repeat(10_000)}`, { headers });
    expect(byPath.status).toBe(404);
    expect((await byPath.text()).length).toBeLessThan(2_000);
    const previous = await fetch(`${gw.url}/v1/responses`, { method: "POST", headers, body: JSON.stringify({ model: "gpt-4o-mini", input: "hi", previous_response_id: `resp_${"r".repeat(100_000)}` }) });
    expect(previous.status).toBe(404);
    expect((await previous.text()).length).toBeLessThan(2_000);
  });

  it("Connect Chat and Embed: InvalidArgument naming the limit", async () => {
    const client = gw.client("connect");
    for (const call of [() => client.chat({ model, messages: [{ role: Role.USER, content: "hi" }] }), () => client.embed({ model, inputs: ["hi"] })]) {
      const err = await call().then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toBe(`model: must be at most ${MAX_MODEL_NAME_CHARS} characters, got ${model.length}`);
    }
  });
});
