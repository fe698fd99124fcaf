// What stored responses may cost the gateway: one response holds at most
// SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE (a continuation parses it whole,
// and an oversized one is refused without being read), and calls admitted
// together reserve what they will store, so they cannot take a key far past
// SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { DEFAULT_MAX_BYTES_PER_RESPONSE, responseMaxBytesFromEnv, StoredResponses } from "../../src/responses/stored-responses.js";
import type { SqlDatabase, SqlRow } from "../../src/store/sql.js";
import { openMigratedDatabase, watchingReads, type StoreKind } from "../support/stores.js";
import { startThreeVendors, type ThreeVendors } from "./support/three-vendors.js";

const conversationOf = (text: string) => [create(MessageSchema, { role: Role.USER, content: text }), create(MessageSchema, { role: Role.ASSISTANT, content: "ok" })];

/** The error a promise settles with, as code and reason; undefined when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<{ code: Code; reason: string | undefined } | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return err && { code: err.code, reason: reasonOf(err) };
}

const TOO_LARGE = { code: Code.InvalidArgument, reason: "RESPONSE_TOO_LARGE" };

/** Room for a response of `bytes`, all known before its answer. */
const room = (bytes: number) => ({ previousBytes: 0, requestBytes: bytes, answerBytes: 0 });
const FULL = { code: Code.ResourceExhausted, reason: "RESPONSES_STORAGE_FULL" };

describe.each<StoreKind>(["sqlite", "postgres"])("stored response bounds on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  /** Every row the store's queries returned, to see what was read. */
  const rowsRead: SqlRow[] = [];
  let watched: SqlDatabase;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    watched = watchingReads(db, rowsRead);
  });
  afterAll(async () => {
    await db?.close();
    await drop();
  });

  it("does not store a response past what one may hold", async () => {
    const stored = new StoredResponses(db, { maxBytesPerResponse: 1_000 });
    expect(await stored.put("resp_big", "bounds-a", { conversation: conversationOf("x".repeat(2_000)), response: {} })).toEqual({ stored: false, reason: "response_too_large", bytes: expect.any(Number), limitBytes: 1_000 });
    expect(await refusal(stored.reserve("bounds-a", room(1_001)))).toEqual(TOO_LARGE);
    expect(await stored.response("resp_big", "bounds-a")).toBeUndefined();
  });

  it("refuses to continue a response past what one may hold without reading its conversation, and still answers GET", async () => {
    await new StoredResponses(db).put("resp_grown", "bounds-b", { conversation: conversationOf("x".repeat(5_000)), response: { id: "resp_grown" } });
    const capped = new StoredResponses(watched, { maxBytesPerResponse: 1_000 });
    rowsRead.length = 0;
    const err = await refusal(capped.get("resp_grown", "bounds-b"));
    expect(err).toEqual(TOO_LARGE);
    expect(rowsRead).toHaveLength(1);
    expect(rowsRead[0]!.conversation ?? null).toBeNull();
    expect(rowsRead[0]!.response ?? null).toBeNull();
    expect(await capped.response("resp_grown", "bounds-b")).toEqual({ id: "resp_grown" });
    expect((await new StoredResponses(db).get("resp_grown", "bounds-b"))?.conversation).toEqual(conversationOf("x".repeat(5_000)));
  });

  it("lets calls admitted together reserve no more than the key's limit, and gives back what is not stored", async () => {
    const stored = new StoredResponses(db, { maxBytesPerKey: 10_000 });
    const together = await Promise.allSettled([1, 2, 3, 4].map(() => stored.reserve("bounds-c", room(3_000))));
    expect(together.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const [refused] = together.filter((r) => r.status === "rejected");
    expect(await refusal(Promise.reject(refused!.reason))).toEqual(FULL);

    // A call that stores nothing releases its room; releasing twice gives nothing more back.
    const [first, second, third] = together.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    first!.release();
    first!.release();
    const fourth = await stored.reserve("bounds-c", room(3_000));
    expect(await refusal(stored.reserve("bounds-c", room(3_000)))).toEqual(FULL);

    // Storing turns the reservation into the bytes stored: counted once.
    await stored.put("resp_c1", "bounds-c", { conversation: conversationOf("x".repeat(2_000)), response: {} }, second);
    expect(await refusal(stored.reserve("bounds-c", room(1_500)))).toBeUndefined();
    for (const reservation of [third!, fourth]) reservation.release();
    expect(await refusal(stored.reserve("bounds-c", room(7_000)))).toEqual(FULL);
    expect(await refusal(stored.reserve("bounds-c", room(5_000)).then((r) => r.release()))).toBeUndefined();
  });

  it("makes room as soon as a response is deleted, not when the key's total is next summed", async () => {
    const now = Date.now(); // the store's clock stands still: no new sum
    const stored = new StoredResponses(db, { maxBytesPerKey: 4_000, now: () => now });
    await stored.put("resp_d1", "bounds-d", { conversation: conversationOf("x".repeat(3_000)), response: {} });
    expect(await refusal(stored.reserve("bounds-d", room(2_000)))).toEqual(FULL);
    expect(await stored.delete("resp_d1", "bounds-d")).toBe(true);
    expect(await refusal(stored.reserve("bounds-d", room(2_000)))).toBeUndefined();
  });

  it("says a response the store did not take is unstored, rather than failing its paid answer, and one refused does not fail those written with it", async () => {
    const refusing: SqlDatabase = {
      ...watched,
      run: async (sql, params) => {
        if (sql.startsWith("INSERT INTO stored_responses") && params?.includes("resp_refused")) throw new Error("value too long for type character varying");
        return db.run(sql, params);
      },
    };
    const stored = new StoredResponses(refusing);
    const response = (id: string) => stored.put(id, "bounds-f", { conversation: conversationOf(id), response: { id } });
    // The first is committed alone; the other two wait for it and are committed together, one refused.
    const outcomes = await Promise.all(["resp_f1", "resp_refused", "resp_f2"].map(response));
    expect(outcomes).toEqual([{ stored: true }, { stored: false, reason: "store_failed", error: "value too long for type character varying" }, { stored: true }]);
    expect(await stored.response("resp_f2", "bounds-f")).toEqual({ id: "resp_f2" });
    expect(await stored.response("resp_refused", "bounds-f")).toBeUndefined();
  });

  it("never forgets a response committed while the key's total is being summed again (the sum may not see it)", async () => {
    let clock = Date.now();
    // Once `holding`, sums of the key's bytes are read at once but answered only on `answer()`: the store commits a response in between.
    let holding = false;
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const gated: SqlDatabase = {
      ...watched,
      query: async (sql, params) => {
        const rows = await db.query(sql, params);
        if (holding && sql.includes("SUM(bytes)")) await answered;
        return rows;
      },
    };
    const stored = new StoredResponses(gated, { maxBytesPerKey: 4_000, now: () => clock });
    const first = await stored.reserve("bounds-e", room(3_000));
    clock += 60_000; // the key's total is stale: the next call sums it again
    holding = true;
    const second = refusal(stored.reserve("bounds-e", room(2_000)));
    await stored.put("resp_e1", "bounds-e", { conversation: conversationOf("x".repeat(2_500)), response: {} }, first);
    answer();
    expect(await second).toEqual(FULL);
  });
});

describe("the per-response limit setting", () => {
  it("is 32 MiB unless SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE says otherwise, and refuses nonsense", () => {
    expect(responseMaxBytesFromEnv({})).toBe(DEFAULT_MAX_BYTES_PER_RESPONSE);
    expect(DEFAULT_MAX_BYTES_PER_RESPONSE).toBe(32 * 1024 * 1024);
    expect(responseMaxBytesFromEnv({ SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE: "4" })).toBe(4 * 1024 * 1024);
    for (const bad of ["big", "0", "-2"]) expect(() => responseMaxBytesFromEnv({ SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE: bad })).toThrow(/SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE/);
  });
});

describe("POST /v1/responses within the bounds", () => {
  // One response may hold 50 KB, one key 100 KB.
  let world: ThreeVendors;
  let admin: ReturnType<typeof createClient<typeof AdminService>>;
  beforeAll(async () => {
    world = await startThreeVendors({ env: { SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE: "0.05", SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY: "0.1" } });
    admin = createClient(AdminService, world.gw.transport("connect"));
  });
  afterAll(async () => {
    await world?.stop();
  });

  const newKey = async (keyId: string) => (await admin.createKey({ keyId, key: { displayName: keyId } })).secret;
  const post = (key: string, body: unknown) =>
    fetch(`${world.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  /** A turn that grows the conversation by `size` characters of reasoning, which no vendor is sent for this model: free to the caller. */
  const turn = (size: number, previous?: string, store = true) => ({
    model: "gpt-4o-mini",
    store,
    ...(previous ? { previous_response_id: previous } : {}),
    input: [
      { type: "reasoning", summary: [{ type: "summary_text", text: "r".repeat(size) }] },
      { type: "message", role: "assistant", content: "ok" },
      { type: "message", role: "user", content: "go on" },
    ],
  });
  const idOf = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { type: string; code: string } }).error });

  it("stops a chain at what one response may hold, before the vendor is asked, in the OpenAI error shape", async () => {
    const key = await newKey("chain");
    const first = await idOf(await post(key, turn(20_000)));
    const second = await idOf(await post(key, turn(20_000, first)));
    const asked = world.chatRequests("openai").length;
    expect(await errorOf(await post(key, turn(20_000, second)))).toMatchObject({ status: 400, type: "invalid_request_error", code: "response_too_large" });
    expect(world.chatRequests("openai")).toHaveLength(asked);
    // What is within the bound still goes on, unstored.
    await idOf(await post(key, turn(20_000, second, false)));
  });

  it("admits only as many calls at once as the key has room for, and makes room again at once on delete or failure", async () => {
    const key = await newKey("forks");
    const root = await idOf(await post(key, turn(30_000)));
    // Each fork stores the 30 KB conversation again: the key has room for two of them beside the root.
    // A short answer each (max_output_tokens): its room, reserved too, is small.
    const fork = (input: string) => post(key, { model: "gpt-4o-mini", input, previous_response_id: root, max_output_tokens: 100 });
    const forks = await Promise.all(Array.from({ length: 8 }, (_, i) => fork(`fork ${i}`)));
    const admitted = forks.filter((res) => res.status === 200);
    expect(admitted).toHaveLength(2);
    for (const refused of forks.filter((res) => res.status !== 200)) expect(await errorOf(refused)).toMatchObject({ status: 429, code: "responses_storage_full" });

    const [forked] = await Promise.all(admitted.map(idOf));
    const del = await fetch(`${world.gw.url}/v1/responses/${forked}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
    expect(del.status).toBe(200);
    // A call that fails stores nothing and holds no room after.
    world.openai.enqueue({ kind: "error", status: 400, body: { error: { message: "no", type: "invalid_request_error" } } });
    expect((await fork("fails")).status).toBe(400);
    await idOf(await fork("fork again"));
    expect((await fork("one too many")).status).toBe(429);
  });
});
