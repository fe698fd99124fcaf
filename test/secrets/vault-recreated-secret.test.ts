// A Vault secret deleted (`kv metadata delete`) and written again numbers its
// versions from 1 anew: the new versions are other keys than the old ones of the
// same numbers. Each is staged as a canary (audit secrets F2: a lower number was
// promoted at once, draining the good key; F3: numbers seen before were skipped,
// and the old secret's verdicts blocked the new one's keys after a restart).
// Real OpenBao; the pools are polled on a clock the test moves.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { NEW_KEY_NUMBERED_BELOW } from "../../src/secrets/provider-pools.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { openMigratedDatabase } from "../support/stores.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";
import { vaultPools } from "./support/vault-pools.js";

const mount = unique("sb-recreated");
let bao: BaoAdmin;
let token: string;

beforeAll(async () => {
  ({ bao, token } = await baoMountWithReadToken(mount));
});

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;

/** A fresh secret path, and pools serving it on a store of their own. */
async function secret(): Promise<{ path: string; ref: string; db: SqlDatabase; start: () => ReturnType<typeof vaultPools> }> {
  const path = `switchboard/${unique("openai")}`;
  const ref = `vault:${mount}/${path}#api_key`;
  const { db } = await openMigratedDatabase("sqlite");
  return { path, ref, db, start: () => vaultPools({ addr: bao.addr, token, ref, db }) };
}

const deleteAll = (path: string) => bao.request("DELETE", `${mount}/metadata/${path}`);

describe("a Vault secret deleted and written again", () => {
  it("within one refresh: the new version 1 is a canary, and the good version 3 keeps serving", async () => {
    const { path, db, start } = await secret();
    for (const label of ["g1", "g2", "g3"]) await bao.put(mount, path, { api_key: vendorKey(label) });
    const running = await start();
    try {
      expect(running.states()).toEqual({ 3: "active" });
      await deleteAll(path);
      await bao.put(mount, path, { api_key: vendorKey("bad-new-v1") });
      await running.poll();
      await eventually(() => expect(running.pool().get("openai/primary@v1")).toMatchObject({ state: "standby", canary: { replaces: "openai/primary@v3" } }));
      expect(running.pool().get("openai/primary@v3")?.state).toBe("active");
      expect(running.logs.entries.map((entry) => entry.msg)).toContain(NEW_KEY_NUMBERED_BELOW);
      // The canary fails at the vendor: rolled back, the good key never stopped serving.
      await running.pools.rollback("openai", "openai/primary@v1", "HTTP 401");
      expect(running.pool().get("openai/primary@v3")?.state).toBe("active");
    } finally {
      await running.close();
      await db.close();
    }
  });

  it("after the gateway saw it gone: each new version is staged, whatever the old secret's verdicts, running and after a restart", async () => {
    const { path, db, start } = await secret();
    await bao.put(mount, path, { api_key: vendorKey("old-v1") });
    let running = await start();
    try {
      await bao.put(mount, path, { api_key: vendorKey("old-v2") });
      await running.poll();
      await eventually(() => expect(running.states()).toEqual({ 1: "active", 2: "standby" }));
      await running.pools.rollback("openai", "openai/primary@v2", "HTTP 401");
      await deleteAll(path);
      await running.poll();
      expect(running.states()).toEqual({ 1: "disabled", 2: "retired" });

      await bao.put(mount, path, { api_key: vendorKey("new-v1") });
      await running.poll();
      await eventually(() => expect(running.pool().get("openai/primary@v1")?.state).toBe("standby"));
      await running.pools.promote("openai", "openai/primary@v1", "serves");
      // Version 2 again, another key than the old version 2 that was rolled back.
      await bao.put(mount, path, { api_key: vendorKey("new-v2") });
      await running.poll();
      await eventually(() => expect(running.states()).toEqual({ 1: "active", 2: "standby" }));
      await running.close();

      running = await start();
      // The old version 2's rollback says nothing of the new one: it is on trial again, beside the good new version 1.
      expect(running.states()).toEqual({ 1: "active", 2: "standby" });
    } finally {
      await running.close();
      await db.close();
    }
  });

  it("while the gateway was down: the old secret's good version 1 is not taken for the new one", async () => {
    const { path, db, start } = await secret();
    const OLD1 = vendorKey("old-v1");
    await bao.put(mount, path, { api_key: OLD1 });
    let running = await start();
    try {
      await bao.put(mount, path, { api_key: vendorKey("old-v2") });
      await running.poll();
      await eventually(() => expect(running.states()).toEqual({ 1: "active", 2: "standby" }));
      await running.pools.rollback("openai", "openai/primary@v2", "HTTP 401");
      await running.close();

      await deleteAll(path);
      await bao.put(mount, path, { api_key: vendorKey("new-v1") });
      const NEW2 = vendorKey("new-v2");
      await bao.put(mount, path, { api_key: NEW2 });
      running = await start();
      // The last good version is gone (its number holds another value now); the latest was never judged: served, as at a first start.
      expect(running.states()).toEqual({ 2: "active" });
      expect(running.pool().pick().secret).toBe(NEW2);
    } finally {
      await running.close();
      await db.close();
    }
  });
});
