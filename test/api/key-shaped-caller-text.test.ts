// A caller who pastes a vendor's key where the model name goes (or a tool's
// name, or a gateway key as x-request-id) on REST or on Connect gets an
// answer, and nothing the gateway writes down keeps the key: not its log
// lines, not the ledger row, not the error it answers (a hint, "sk-pro…",
// stays to recognise it by). A gateway key as the model is refused before
// routing (partial-secret-oracle.test.ts).
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { MASTER_KEY } from "../support/gateway.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const KEY = generateGatewayKey();
/** Shaped like OpenAI's project keys: served as a model name, recorded by its hint. */
const MODEL_KEY = `sk-proj-${"Ab3_x".repeat(10)}`;
// A tool name takes at most 64 characters.
const VENDOR_KEY = `sk-ant-api03-${"Zy9-q".repeat(9)}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const messages = [{ role: Role.USER, content: "hi" }];

let world: UsageWorld;
beforeAll(async () => {
  world = await startUsageWorld("sqlite");
});
afterAll(async () => {
  await world?.close();
});

const rest = (body: object, headers: Record<string, string> = {}) =>
  fetch(`${world.gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }),
  });

async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

describe("a key pasted where the model name goes", () => {
  it("REST: the error names the model by its hint only", async () => {
    const res = await rest({ model: MODEL_KEY });
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toContain(MODEL_KEY);
    expect(JSON.parse(text).error).toMatchObject({ code: "model_not_found", message: expect.stringContaining('model "sk-pro…" is not available') });
  });

  it("REST: routed upstream as provider/model, the call is answered and recorded with the hint", async () => {
    const res = await rest({ model: `openai/${MODEL_KEY}` }, { "x-request-id": "rest-routed-key" });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(MODEL_KEY);
  });

  it("Connect: the error's message and ErrorInfo name the model by its hint only", async () => {
    const err = await connectError(world.gw.client("connect").chat({ model: MODEL_KEY, messages }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain('model "sk-pro…" is not available');
    expect(err.rawMessage).not.toContain(MODEL_KEY);
    expect(err.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({ model: "sk-pro…" });
  });

  it("Connect: routed upstream as provider/model, then a tool named with a vendor key", async () => {
    const routed = await connectError(world.gw.client("connect").chat({ model: `openai/${MODEL_KEY}`, messages }, { headers: { "x-request-id": "connect-routed-key" } }));
    expect(routed.code).toBe(Code.NotFound);
    expect(routed.rawMessage).not.toContain(MODEL_KEY);
    const tool = { name: VENDOR_KEY, parameters: { type: "object" } };
    const twice = await connectError(world.gw.client("connect").chat({ model: "gpt-4o-mini", messages, tools: [tool, tool] }));
    expect(twice.code).toBe(Code.InvalidArgument);
    expect(twice.rawMessage).toContain('"sk-ant…" is declared twice');
    expect(twice.rawMessage).not.toContain(VENDOR_KEY);
  });
});

describe("x-request-id", () => {
  it("is replaced by the gateway's own when too long, odd, or shaped like a key, on REST and Connect", async () => {
    for (const id of ["x".repeat(129), "two words", KEY]) {
      const res = await rest({ model: "gpt-4o-mini" }, { "x-request-id": id });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toMatch(UUID);
      expect(((await res.json()) as { id?: string }).id).toBeDefined();
    }
    const answer = await world.gw.client("connect").chat({ model: "gpt-4o-mini", messages }, { headers: { "x-request-id": KEY } });
    expect(answer.requestId).toMatch(UUID);
  });

  it("cannot make two calls share one ledger row: each call is a row of its own", async () => {
    for (let i = 0; i < 2; i++) expect((await rest({ model: "gpt-4o-mini" }, { "x-request-id": "same-id-twice" })).status).toBe(200);
  });
});

describe("what the gateway wrote down", () => {
  it("holds neither key, in the log lines or the ledger rows, and the hints where the model was", async () => {
    await world.gw.stop();
    const text = world.gw.logs.text;
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(MODEL_KEY);
    expect(text).not.toContain(VENDOR_KEY);
    // Request ids the gateway replaced are kept nowhere.
    expect(text).not.toContain("x".repeat(129));
    expect(text).not.toContain("two words");
    expect(text).toContain('"requestedModel":"sk-pro…"');
    expect(text).toContain('"requestedModel":"openai/sk-pro…"');

    const db = new SqliteDatabase(join(world.env.SWITCHBOARD_DATA_DIR!, "switchboard.db"));
    try {
      const rows = await db.query("SELECT * FROM usage_ledger");
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(KEY);
      expect(stored).not.toContain(MODEL_KEY);
      expect(stored).not.toContain(VENDOR_KEY);
      for (const requestId of ["rest-routed-key", "connect-routed-key"]) {
        const [row] = rows.filter((r) => r.request_id === requestId);
        expect(row).toMatchObject({ requested_model: "openai/sk-pro…", served_model: "sk-pro…", status: "not_found" });
        expect(JSON.parse(String(row!.attempt_log))[0]).toMatchObject({ provider: "openai", model: "sk-pro…" });
      }
      expect(rows.filter((r) => r.request_id === "same-id-twice")).toHaveLength(2);
      expect(new Set(rows.map((r) => r.row_key)).size).toBe(rows.length);
    } finally {
      await db.close();
    }
  });
});
