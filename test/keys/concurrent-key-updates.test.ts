// UpdateKey reads a key, judges the change against it, then writes: without a
// compare-and-set on what it read, an update judged against a stale record
// (an admin key narrowing a key's rights) could land after the master key's
// demotion and put `admin: true` back, while the master was told `admin: false`.
// The store calls are interleaved by hand, so each order is run exactly.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { createKeyAdmin } from "../../src/api/admin/key-admin.js";
import { KeyHasher } from "../../src/auth/gateway-key.js";
import { KeyPolicy, type KeyRecord } from "../../src/auth/key-policy.js";
import { KeyStore } from "../../src/auth/key-store.js";
import { principalKey, type Principal } from "../../src/auth/principal.js";
import { DEFAULT_KEY_QUOTAS } from "../../src/config/usage-config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { failure } from "../support/failure.js";
import { openMigratedDatabase, type StoreKind } from "../support/stores.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

/** A KeyStore whose next update waits, after its read, until the test lets it write. */
class SteppedKeyStore extends KeyStore {
  private held: { reached: () => void; release: Promise<void> } | undefined;

  holdNextUpdate(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const hold = { reached: new Promise<void>((resolve) => (reached = resolve)), release: () => release() };
    this.held = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
    return hold;
  }

  override async update(record: KeyRecord, readUpdateMs: number): Promise<boolean> {
    const held = this.held;
    this.held = undefined;
    if (held) {
      held.reached();
      await held.release;
    }
    return super.update(record, readUpdateMs);
  }
}

const record = (id: string, overrides: Partial<KeyRecord> = {}): KeyRecord => ({
  id,
  digest: `digest-${id}`,
  keyHint: "sk-sb-…abcd",
  displayName: id,
  team: "",
  admin: false,
  allowedModels: [],
  requestsPerMinute: 0,
  tokensPerMinute: 0,
  economyModels: [],
  createMs: 1_000,
  updateMs: 1_000,
  ...overrides,
});

describe.each<StoreKind>(["sqlite", "postgres"])("concurrent UpdateKey calls on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let store: SteppedKeyStore;
  const master: Principal = { keyId: "master", name: "master", admin: true };
  // A full admin key of its own, with no limits: it may narrow another admin key's rights.
  const ops = record("ops", { admin: true });
  const asPrincipal = (principal: Principal) => {
    const setPrincipal: Interceptor = (next) => (req) => (req.contextValues.set(principalKey, principal), next(req));
    const admin = createKeyAdmin({
      store,
      hasher: new KeyHasher(Buffer.alloc(32, 7)),
      spend: { admit: async () => ({ decision: "normal", reserve: 0 }) as never, spent: async () => 0, charge: async () => {}, forget: async () => {}, forgetHere: async () => {}, close() {} },
      changed: async () => {},
      defaults: { requestsPerMinute: 0, tokensPerMinute: 0, economyModels: [] },
      budgets: { period: "month", softThreshold: 0.9, whenExhausted: "refuse" },
      currency: "USD",
      economyPrices: { notCheaper: () => undefined },
      quotas: DEFAULT_KEY_QUOTAS,
      logger: createLogger("silent"),
    });
    return createClient(AdminService, createRouterTransport((router) => router.service(AdminService, admin), { router: { interceptors: [setPrincipal] } }));
  };

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    store = new SteppedKeyStore(db);
    await store.insert(ops);
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  const expectConcurrentUpdate = async (call: Promise<unknown>, keyId: string) => {
    const err = await failure(call);
    expect(err.code).toBe(Code.Aborted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "CONCURRENT_UPDATE", metadata: { key: keyId } });
  };

  it("refuses an update judged against a key the master's demotion changed meanwhile, so the demotion holds", async () => {
    await store.insert(record("racer-1", { admin: true }));
    const hold = store.holdNextUpdate();
    // ops reads racer-1 as a full admin and narrows it to read-only: { admin: true, admin_read_only: true }.
    const narrowing = asPrincipal({ keyId: "ops", name: "ops", admin: true, policy: new KeyPolicy(ops) }).updateKey({
      key: { name: "keys/racer-1", adminReadOnly: true },
      updateMask: mask("admin_read_only"),
    });
    await hold.reached;
    const demoted = await asPrincipal(master).updateKey({ key: { name: "keys/racer-1", admin: false }, updateMask: mask("admin") });
    expect(demoted.key?.admin).toBe(false);
    hold.release();
    await expectConcurrentUpdate(narrowing, "racer-1");
    expect((await store.get("racer-1"))?.admin).toBe(false);
  });

  it("refuses the demotion itself when another change lands between its read and its write, so it is never reported done while undone", async () => {
    await store.insert(record("racer-2", { admin: true }));
    const hold = store.holdNextUpdate();
    const demotion = asPrincipal(master).updateKey({ key: { name: "keys/racer-2", admin: false }, updateMask: mask("admin") });
    await hold.reached;
    await asPrincipal(master).updateKey({ key: { name: "keys/racer-2", displayName: "renamed" }, updateMask: mask("display_name") });
    hold.release();
    await expectConcurrentUpdate(demotion, "racer-2");
    // Read again and retried, the demotion applies on top of the rename.
    const retried = await asPrincipal(master).updateKey({ key: { name: "keys/racer-2", admin: false }, updateMask: mask("admin") });
    expect(retried.key).toMatchObject({ admin: false, displayName: "renamed" });
    expect(await store.get("racer-2")).toMatchObject({ admin: false, displayName: "renamed" });
  });

  it("tells apart two changes made in the same millisecond, and a revocation from the change before it", async () => {
    // Every version moves the update time on, even when the clock does not.
    await store.insert(record("same-ms", { createMs: 5_000, updateMs: 5_000 }));
    const first = { ...record("same-ms", { displayName: "first", createMs: 5_000 }), updateMs: 5_001 };
    expect(await store.update(first, 5_000)).toBe(true);
    expect(await store.update({ ...first, displayName: "stale", updateMs: 5_001 }, 5_000)).toBe(false);
    expect((await store.get("same-ms"))?.displayName).toBe("first");
    // Revoked at a time before its last update (another instance's clock): the update time still moves on.
    expect((await store.revoke("same-ms", 4_000))?.updateMs).toBe(5_002);
    expect(await store.update({ ...first, displayName: "after revocation", updateMs: 5_002 }, 5_001)).toBe(false);
  });
});
