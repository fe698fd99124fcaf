// The store behind previous_response_id, on both engines: a response belongs
// to its key, lives until its TTL passes (a clock the test drives), and
// expired ones are pruned.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageSchema, Role, ToolCallSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { DEFAULT_MAX_BYTES_PER_KEY, responsesMaxBytesFromEnv, responseTtlFromEnv, StoredResponses } from "../../src/responses/stored-responses.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const HOUR = 3_600_000;

const conversation = [
  create(MessageSchema, { role: Role.USER, content: "weather in Paris" }),
  create(MessageSchema, {
    role: Role.ASSISTANT,
    toolCalls: [create(ToolCallSchema, { id: "toolu_1", name: "lookup", arguments: '{"query":"Paris"}' })],
    reasoning: [create(ReasoningBlockSchema, { text: "think", signature: "sig" })],
    reasoningContent: "think",
  }),
  create(MessageSchema, { role: Role.TOOL, toolCallId: "toolu_1", content: "sunny" }),
];

describe.each<StoreKind>(["sqlite", "postgres"])("stored responses on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let now = Date.UTC(2026, 5, 1);
  let stored: StoredResponses;

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    stored = new StoredResponses(db, { ttlMs: 24 * HOUR, now: () => now });
  });
  afterAll(async () => {
    await db?.close();
    await drop();
  });

  it("gives a response back whole to its key only, until its TTL passes", async () => {
    await stored.put("resp_a", "team-a", { conversation, response: { id: "resp_a", object: "response" } });
    const found = await stored.get("resp_a", "team-a");
    expect(found?.response).toEqual({ id: "resp_a", object: "response" });
    expect(found?.conversation).toEqual(conversation);
    expect(await stored.get("resp_a", "team-b")).toBeUndefined();
    expect(await stored.delete("resp_a", "team-b")).toBe(false);

    now += 23 * HOUR;
    expect(await stored.get("resp_a", "team-a")).toBeDefined();
    now += 2 * HOUR;
    expect(await stored.get("resp_a", "team-a")).toBeUndefined();
    expect(await stored.delete("resp_a", "team-a")).toBe(false);
  });

  it("commits responses kept at the same time together, each one whole", async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `resp_many_${i}`);
    await Promise.all(ids.map((id) => stored.put(id, "team-a", { conversation, response: { id } })));
    for (const id of ids) expect((await stored.get(id, "team-a"))?.response).toEqual({ id });
  });

  it("bounds what one key keeps: a store past its limit is refused before the call, until responses are deleted or expire", async () => {
    const limited = (now_: () => number) => new StoredResponses(db, { ttlMs: 24 * HOUR, maxBytesPerKey: 2_048, now: now_ });
    const refused = async (store: StoredResponses, keyId: string) => {
      const err = await store.reserve(keyId, { previousBytes: 0, requestBytes: 1_000, answerBytes: 0 }).then((reservation) => reservation.release(), (e: unknown) => ConnectError.from(e));
      return err && { code: err.code, reason: reasonOf(err), message: err.rawMessage };
    };
    const big = { conversation, response: { text: "x".repeat(2_000) } };
    const store = limited(() => now);
    expect(await refused(store, "quota-a")).toBeUndefined();
    await store.put("resp_q1", "quota-a", big);
    expect(await refused(store, "quota-a")).toEqual({
      code: Code.ResourceExhausted,
      reason: "RESPONSES_STORAGE_FULL",
      message: "this key keeps 2 KB of stored responses and this call would store 1000 bytes more, past its limit of 2 KB: delete some (DELETE /v1/responses/{id}), let them expire, or send store: false",
    });
    expect(await refused(store, "quota-b")).toBeUndefined();
    // Another instance sums the key's responses from the store.
    expect(await refused(limited(() => now), "quota-a")).toMatchObject({ reason: "RESPONSES_STORAGE_FULL" });

    expect(await store.delete("resp_q1", "quota-a")).toBe(true); // makes room at once, not at the next sum
    expect(await refused(store, "quota-a")).toBeUndefined();
    await store.put("resp_q2", "quota-a", big);
    expect(await refused(store, "quota-a")).toMatchObject({ reason: "RESPONSES_STORAGE_FULL" });
    now += 25 * HOUR;
    expect(await refused(store, "quota-a")).toBeUndefined();
  });

  it("prunes what expired, and deletes on its key's word", async () => {
    await stored.put("resp_b", "team-a", { conversation, response: {} });
    expect(await stored.delete("resp_b", "team-a")).toBe(true);
    expect(await stored.get("resp_b", "team-a")).toBeUndefined();

    await stored.put("resp_c", "team-a", { conversation, response: {} });
    const before = await stored.count();
    now += 25 * HOUR;
    expect(await stored.prune()).toBeGreaterThanOrEqual(1);
    expect(await stored.count()).toBeLessThan(before);
  });
});

describe("the TTL setting", () => {
  it("is 30 days unless SWITCHBOARD_RESPONSES_TTL_HOURS says otherwise, and refuses nonsense", () => {
    expect(responseTtlFromEnv({})).toBe(30 * 24 * HOUR);
    expect(responseTtlFromEnv({ SWITCHBOARD_RESPONSES_TTL_HOURS: "2" })).toBe(2 * HOUR);
    expect(() => responseTtlFromEnv({ SWITCHBOARD_RESPONSES_TTL_HOURS: "soon" })).toThrow(/SWITCHBOARD_RESPONSES_TTL_HOURS/);
  });
});

describe("the per-key limit setting", () => {
  it("is 1 GB unless SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY says otherwise, and refuses nonsense", () => {
    expect(responsesMaxBytesFromEnv({})).toBe(DEFAULT_MAX_BYTES_PER_KEY);
    expect(DEFAULT_MAX_BYTES_PER_KEY).toBe(1024 * 1024 * 1024);
    expect(responsesMaxBytesFromEnv({ SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY: "64" })).toBe(64 * 1024 * 1024);
    for (const bad of ["lots", "0", "-1"]) expect(() => responsesMaxBytesFromEnv({ SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY: bad })).toThrow(/SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY/);
  });
});
