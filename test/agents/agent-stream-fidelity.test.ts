// What the agent surfaces (`/v1/responses`, Codex's; `/v1/messages`, Claude
// Code's) make of a vendor stream that is odd but real, from a scripted
// OpenAI-compatible vendor: calls whose argument fragments interleave, and a
// stream that ends ([DONE]) with no finish reason; and the tool call ids of a
// conversation, paired alike on both surfaces before any vendor is asked.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

type Json = Record<string, any>;

const MODEL = "deepseek-chat";
const TOOLS = [
  { type: "function", name: "f", parameters: { type: "object", properties: {} } },
  { type: "function", name: "g", parameters: { type: "object", properties: {} } },
];

/** The chunks the vendor streams for a prompt: "interleave", "nofinish", or a plain answer. */
function chunksFor(prompt: string): { chunks: Json[]; finish: string | null } {
  const call = (index: number, fn: Json, id?: string) => ({ tool_calls: [{ index, ...(id ? { id, type: "function" } : {}), function: fn }] });
  if (prompt.includes("interleave")) {
    return {
      chunks: [call(0, { name: "f", arguments: "" }, "call_A"), call(1, { name: "g", arguments: "" }, "call_B"), call(0, { arguments: '{"path":' }), call(1, { arguments: '{"q":' }), call(0, { arguments: '"/etc/a"}' }), call(1, { arguments: '"zz"}' })],
      finish: "tool_calls",
    };
  }
  if (prompt.includes("nofinish")) return { chunks: [{ role: "assistant", content: "partial" }], finish: null };
  return { chunks: [{ role: "assistant", content: "fine" }], finish: "stop" };
}

let vendor: Server;
let vendorCalls = 0;
let gw: TestGateway;
let dataDir: string;
/** The requests whose ledger rows the last test reads, once the gateway has stopped (the store is its own while it runs). */
const unfinished: string[] = [];

beforeAll(async () => {
  vendor = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    vendorCalls++;
    const body = JSON.parse(text) as Json;
    const { chunks, finish } = chunksFor(JSON.stringify(body.messages.at(-1)));
    const head = { id: "c1", object: "chat.completion.chunk", created: 1, model: body.model };
    if (body.stream !== true) {
      const answer = { ...head, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "fine" }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } };
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const delta of chunks) res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
    if (finish) res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, finish_reason: finish }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => vendor.listen(0, "127.0.0.1", resolve));
  dataDir = mkdtempSync(join(tmpdir(), "agent-stream-fidelity-"));
  gw = await startGateway(
    { DEEPSEEK_API_KEY: "sk-deepseek-fake-0000000001", DEEPSEEK_BASE_URL: `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`, SWITCHBOARD_DATA_DIR: dataDir },
    { traffic: { retry: { max_attempts: 1 } }, ledger: { flush_interval_ms: 50 } },
  );
});
afterAll(async () => {
  await gw?.stop();
  vendor?.closeAllConnections();
  await new Promise((resolve) => vendor?.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });

/** A server-sent event stream's events, in order: their names and data. */
async function events(res: Response): Promise<{ event: string; data: Json }[]> {
  expect(res.status).toBe(200);
  return (await res.text())
    .split("\n\n")
    .filter((frame) => frame.includes("data:"))
    .map((frame) => {
      const line = (prefix: string) => frame.split("\n").find((l) => l.startsWith(prefix))?.slice(prefix.length).trim() ?? "";
      const data = JSON.parse(line("data:")) as Json;
      return { event: line("event:") || data.type, data };
    });
}

/** A stream answer's events, its request id kept for the ledger's check. */
async function unfinishedEvents(res: Response): Promise<{ event: string; data: Json }[]> {
  unfinished.push(res.headers.get("x-request-id")!);
  return events(res);
}

describe("/v1/responses: function calls whose argument fragments the vendor interleaves", () => {
  it("each call's output_item.done carries its whole arguments, and no delta of it comes after", async () => {
    const stream = await events(await post("/v1/responses", { model: MODEL, tools: TOOLS, input: "interleave", stream: true, store: false }));
    const calls = stream.filter(({ data }) => data.type === "response.output_item.added" && data.item.type === "function_call").map(({ data }) => data.item.id as string);
    expect(calls).toHaveLength(2);
    const whole: Record<string, string> = { call_A: '{"path":"/etc/a"}', call_B: '{"q":"zz"}' };
    for (const id of calls) {
      const mine = stream.map(({ data }, at) => ({ data, at })).filter(({ data }) => data.item_id === id || data.item?.id === id);
      const types = mine.map(({ data }) => data.type);
      // Per item: added, its deltas, then arguments.done and output_item.done, last.
      expect(types[0]).toBe("response.output_item.added");
      expect(types.slice(-2)).toEqual(["response.function_call_arguments.done", "response.output_item.done"]);
      expect(types.slice(1, -2).every((type) => type === "response.function_call_arguments.delta")).toBe(true);
      const done = mine.at(-1)!.data.item;
      expect(done.arguments).toBe(whole[done.call_id]);
      expect(mine.at(-2)!.data.arguments).toBe(whole[done.call_id]);
      expect(mine.slice(1, -2).map(({ data }) => data.delta).join("")).toBe(whole[done.call_id]);
    }
    // Sequence numbers in order, and the Response last, its calls whole.
    expect(stream.map(({ data }) => data.sequence_number)).toEqual(stream.map((_, i) => i));
    const last = stream.at(-1)!.data;
    expect(last.type).toBe("response.completed");
    expect(last.response.output.map((item: Json) => [item.call_id, item.arguments, item.status])).toEqual([
      ["call_A", whole.call_A, "completed"],
      ["call_B", whole.call_B, "completed"],
    ]);
  });
});

describe("a vendor stream that ends with no finish reason", () => {
  it("/v1/responses: the stream fails (error, response.failed), and is not stored", async () => {
    const stream = await unfinishedEvents(await post("/v1/responses", { model: MODEL, input: "nofinish", stream: true }));
    expect(stream.map(({ data }) => data.type)).not.toContain("response.completed");
    expect(stream.slice(-2).map(({ data }) => data.type)).toEqual(["error", "response.failed"]);
    const id = stream[0]!.data.response.id as string;
    const stored = await fetch(`${gw.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(stored.status).toBe(404);
  });

  it("/v1/messages: an error event, no end_turn", async () => {
    const stream = await unfinishedEvents(await post("/v1/messages", { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: "nofinish" }], stream: true }));
    expect(JSON.stringify(stream)).not.toContain("end_turn");
    expect(stream.map(({ event }) => event)).not.toContain("message_stop");
    expect(stream.at(-1)!.event).toBe("error");
  });
});

describe("tool call ids, paired before any vendor is asked", () => {
  const refusal = async (path: string, body: Json): Promise<string> => {
    const before = vendorCalls;
    const res = await post(path, { model: MODEL, ...(path === "/v1/messages" ? { max_tokens: 10 } : {}), ...body });
    expect(res.status).toBe(400);
    expect(vendorCalls).toBe(before);
    return ((await res.json()) as { error: { message: string } }).error.message;
  };
  const use = (id: string) => ({ type: "tool_use", id, name: "f", input: {} });
  const result = (id: string) => ({ type: "tool_result", tool_use_id: id, content: "ok" });
  const ask = { role: "user", content: "go" };

  it("/v1/messages: a tool_result whose tool_use comes nowhere before it", async () => {
    expect(await refusal("/v1/messages", { messages: [ask, { role: "assistant", content: [use("t1")] }, { role: "user", content: [result("t9")] }] })).toMatch(
      /^messages\.2\.content\.0\.tool_use_id: no tool_use with id "t9" comes before it/,
    );
  });

  it("/v1/messages: two tool_use blocks of one turn with one id", async () => {
    expect(await refusal("/v1/messages", { messages: [ask, { role: "assistant", content: [use("t1"), use("t1")] }, { role: "user", content: [result("t1")] }] })).toMatch(/^messages\.1\.content\.1\.id: "t1" is the id of another call/);
  });

  it("/v1/messages: one call answered twice", async () => {
    expect(await refusal("/v1/messages", { messages: [ask, { role: "assistant", content: [use("t1")] }, { role: "user", content: [result("t1"), result("t1")] }] })).toMatch(/^messages\.2\.content\.1\.tool_use_id: .*answered twice/);
  });

  it("/v1/responses: two function_call items of one turn with one call_id, and one answered twice", async () => {
    const fc = (id: string) => ({ type: "function_call", call_id: id, name: "f", arguments: "{}" });
    const out = (id: string) => ({ type: "function_call_output", call_id: id, output: "ok" });
    expect(await refusal("/v1/responses", { input: [ask, fc("c1"), fc("c1"), out("c1")] })).toMatch(/^input\[2\]\.call_id: "c1" is the id of another call/);
    expect(await refusal("/v1/responses", { input: [ask, fc("c1"), out("c1"), out("c1")] })).toMatch(/^input\[3\]\.call_id: .*answered twice/);
    expect(await refusal("/v1/responses", { input: [ask, out("c1")] })).toMatch(/^input\[1\]\.call_id: no function_call with call_id "c1" comes before it/);
  });

  it("an id a later turn uses again pairs with its latest call, on both surfaces", async () => {
    const turn = [{ role: "assistant", content: [use("call_0")] }, { role: "user", content: [result("call_0")] }];
    expect((await post("/v1/messages", { model: MODEL, max_tokens: 10, messages: [ask, ...turn, ...turn] })).status).toBe(200);
    const fc = { type: "function_call", call_id: "call_0", name: "f", arguments: "{}" };
    const out = { type: "function_call_output", call_id: "call_0", output: "ok" };
    expect((await post("/v1/responses", { model: MODEL, store: false, input: [ask, fc, out, fc, out] })).status).toBe(200);
  });
});

describe("the ledger, read once the gateway has stopped", () => {
  it("records each stream that ended with no finish reason as a failure, not ok", async () => {
    expect(unfinished).toHaveLength(2);
    await gw.stop();
    gw = undefined as unknown as TestGateway;
    const db = new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const rows = (await db.query(`SELECT status FROM usage_ledger WHERE request_id IN (?, ?)`, unfinished)) as { status: string }[];
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.status).toBe("unavailable");
    } finally {
      await db.close();
    }
  });
});
