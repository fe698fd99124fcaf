import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, FieldMaskSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BudgetPeriod, GatewayKeyState } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storeEnv, tempDir, type StoreKind } from "../support/stores.js";

const chat = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

describe.each<StoreKind>(["sqlite", "postgres"])("gateway keys on %s", (kind) => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  let dataDir: string;
  let drop: () => Promise<void>;
  const admin = () => createClient(AdminService, gw.transport("connect"));

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    const store = await storeEnv(kind);
    drop = store.drop;
    dataDir = tempDir();
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_DATA_DIR: dataDir, ...store.env });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
    await drop();
  });

  it("creates a key that is shown once, works at once, and is stored only as a digest", async () => {
    const created = await admin().createKey({ keyId: "checkout-prod", key: { displayName: "checkout prod", team: "payments" } });
    expect(created.secret).toMatch(/^sk-sb-[A-Za-z0-9_-]{43}$/);
    expect(created.key?.name).toBe("keys/checkout-prod");
    expect(created.key?.state).toBe(GatewayKeyState.ACTIVE);
    expect(created.key?.keyHint).toBe(`sk-sb-…${created.secret.slice(-4)}`);

    const answer = await gw.client("connect", created.secret).chat(chat("gpt-4o-mini"));
    expect(answer.message?.content).toBe("Echo: hi");

    // Never again: not from Get, not from List, not in the logs, not in the store.
    const got = await admin().getKey({ name: "keys/checkout-prod" });
    const listed = await admin().listKeys({});
    const json = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v));
    expect(json(got)).not.toContain(created.secret.slice(6));
    expect(json(listed)).not.toContain(created.secret.slice(6));
    expect(gw.logs.text).not.toContain(created.secret.slice(6));
    if (kind === "sqlite") {
      for (const file of readdirSync(dataDir)) {
        if (file.startsWith("switchboard.db") && statSync(join(dataDir, file)).isFile()) expect(readFileSync(join(dataDir, file)).includes(created.secret.slice(6))).toBe(false);
      }
    }
  });

  it("refuses a model outside the key's scope with PermissionDenied and reason MODEL_NOT_ALLOWED", async () => {
    const { secret } = await admin().createKey({ key: { displayName: "mini only", allowedModels: ["gpt-4o-mini*", "openai/text-embedding-*"] } });
    expect((await gw.client("connect", secret).chat(chat("gpt-4o-mini"))).model).toBe("gpt-4o-mini");
    const before = fake.requests.length;
    const err = await failure(gw.client("connect", secret).chat(chat("gpt-4o")));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain('may not use model "gpt-4o"');
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("MODEL_NOT_ALLOWED");
    expect(fake.requests.length).toBe(before);
    // "provider/model" globs match what a model routes to.
    const embedded = await gw.client("connect", secret).embed({ model: "text-embedding-3-small", inputs: ["a"] });
    expect(embedded.embeddings).toHaveLength(1);
    // The key's model list shows what its scope allows, and nothing else.
    const listed = (await gw.client("connect", secret).listModels({})).models.map((m) => m.id);
    expect(listed).toEqual(expect.arrayContaining(["gpt-4o-mini", "text-embedding-3-small"]));
    expect(listed).not.toContain("gpt-4o");
  });

  it("lets only the master key and admin-scoped keys call the AdminService", async () => {
    const plain = await admin().createKey({ key: { displayName: "plain" } });
    const err = await failure(createClient(AdminService, gw.transport("connect", plain.secret)).listKeys({}));
    expect(err.code).toBe(Code.PermissionDenied);
    const ops = await admin().createKey({ key: { displayName: "ops", admin: true } });
    const made = await createClient(AdminService, gw.transport("grpc", ops.secret)).createKey({ key: { displayName: "made by ops" } });
    expect(made.secret).toMatch(/^sk-sb-/);
  });

  it("lists keys a page at a time, with filters", async () => {
    for (let i = 0; i < 5; i++) await admin().createKey({ keyId: `page-${i}`, key: { displayName: `page ${i}`, team: "paging" } });
    const names: string[] = [];
    let pageToken = "";
    do {
      const page = await admin().listKeys({ pageSize: 2, pageToken, filter: 'team = "paging"' });
      expect(page.keys.length).toBeLessThanOrEqual(2);
      names.push(...page.keys.map((k) => k.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(names).toEqual([0, 1, 2, 3, 4].map((i) => `keys/page-${i}`));
    const bad = await failure(admin().listKeys({ filter: "colour = blue" }));
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  it("updates only the fields in the update mask, and the change applies to the next call", async () => {
    const { secret } = await admin().createKey({ keyId: "mask-test", key: { displayName: "mask test", team: "a", allowedModels: ["gpt-4o-mini"] } });
    expect((await failure(gw.client("connect", secret).chat(chat("gpt-4o")))).code).toBe(Code.PermissionDenied);
    const updated = await admin().updateKey({
      key: { name: "keys/mask-test", displayName: "ignored", allowedModels: ["gpt-4o*"], requestsPerMinute: 50, budget: { limit: { units: 12n }, period: BudgetPeriod.WEEK } },
      updateMask: create(FieldMaskSchema, { paths: ["allowed_models", "requests_per_minute", "budget"] }),
    });
    expect(updated.key).toMatchObject({ displayName: "mask test", team: "a", allowedModels: ["gpt-4o*"], requestsPerMinute: 50 });
    expect(updated.key?.budget).toMatchObject({ limit: { currencyCode: "USD", units: 12n }, period: BudgetPeriod.WEEK, softThreshold: 0.9 });
    expect(updated.key?.budgetStatus?.spent?.units).toBe(0n);
    expect((await gw.client("connect", secret).chat(chat("gpt-4o"))).model).toBe("gpt-4o");

    const unknown = await failure(admin().updateKey({ key: { name: "keys/mask-test" }, updateMask: create(FieldMaskSchema, { paths: ["digest"] }) }));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect((await failure(admin().updateKey({ key: { name: "keys/nope-nope" }, updateMask: create(FieldMaskSchema, { paths: ["team"] }) }))).code).toBe(Code.NotFound);
  });

  it("revokes a key: it stops working at once and cannot be changed again", async () => {
    const { secret, key } = await admin().createKey({ key: { displayName: "short-lived" } });
    expect((await gw.client("connect", secret).chat(chat("gpt-4o-mini"))).model).toBe("gpt-4o-mini");
    const revoked = await admin().revokeKey({ name: key!.name });
    expect(revoked.key?.state).toBe(GatewayKeyState.REVOKED);
    expect(revoked.key?.revokeTime).toBeDefined();
    expect((await failure(gw.client("connect", secret).chat(chat("gpt-4o-mini")))).code).toBe(Code.Unauthenticated);
    const again = await failure(admin().updateKey({ key: { name: key!.name, team: "x" }, updateMask: create(FieldMaskSchema, { paths: ["team"] }) }));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect((await admin().listKeys({ filter: "state = REVOKED" })).keys.map((k) => k.name)).toContain(key!.name);
  });

  it("stops an expiring key at its expiry time", async () => {
    // The gateway's clock (Date) is the test's: the key is used before its expiry however slow the machine, and after it without a wait.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { secret, key } = await admin().createKey({ key: { displayName: "expiring", expiration: { case: "ttl", value: durationFromMs(2_000) } } });
      expect(key?.expiration.case).toBe("expireTime");
      const expireMs = key?.expiration.case === "expireTime" ? timestampMs(key.expiration.value) : NaN;
      expect(expireMs).toBeGreaterThan(Date.now());
      expect((await gw.client("connect", secret).chat(chat("gpt-4o-mini"))).model).toBe("gpt-4o-mini");
      vi.setSystemTime(expireMs);
      expect((await failure(gw.client("connect", secret).chat(chat("gpt-4o-mini")))).code).toBe(Code.Unauthenticated);
      expect((await admin().getKey({ name: key!.name })).key?.state).toBe(GatewayKeyState.EXPIRED);
    } finally {
      vi.useRealTimers();
    }
  });

  it("validates what it is given, naming each field", async () => {
    const err = await failure(
      admin().createKey({ keyId: "Bad Id", key: { displayName: "", requestsPerMinute: -1, budget: { limit: { units: 0n } }, allowedModels: [""] } }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    for (const field of ["key_id", "key.display_name", "key.requests_per_minute", "key.budget.limit", "key.allowed_models[0]"]) expect(err.rawMessage).toContain(field);
    await admin().createKey({ keyId: "taken", key: { displayName: "first" } });
    expect((await failure(admin().createKey({ keyId: "taken", key: { displayName: "second" } }))).code).toBe(Code.AlreadyExists);
    expect((await failure(admin().getKey({ name: "taken" }))).code).toBe(Code.InvalidArgument);
  });
});
