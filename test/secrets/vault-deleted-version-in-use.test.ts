// A Vault version in use that is not the latest (the active key while a newer
// version is on trial, or after the newer one was rolled back) is watched as
// the latest is: deleted or destroyed in Vault, the key holding it is disabled
// on the next poll, whichever version is the latest. Real OpenBao; the pools
// are polled on a clock the test moves.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { openMigratedDatabase } from "../support/stores.js";
import { baoMountWithReadToken, eventually, unique, type BaoAdmin } from "./support/bao.js";
import { vaultPools, type VaultPools } from "./support/vault-pools.js";

const mount = unique("sb-in-use");
let bao: BaoAdmin;
let token: string;

beforeAll(async () => {
  ({ bao, token } = await baoMountWithReadToken(mount));
});

const vendorKey = (label: string) => `sk-${label}-${randomBytes(12).toString("hex")}`;

/** A secret at v1, served by fresh pools (on a store of their own: verdicts are kept by slot), with v2 written and staged as a canary. */
async function withCanary(): Promise<{ path: string; running: VaultPools; V1: string }> {
  const path = `switchboard/${unique("openai")}`;
  const V1 = vendorKey("v1");
  await bao.put(mount, path, { api_key: V1 });
  const { db } = await openMigratedDatabase("sqlite");
  const running = await vaultPools({ addr: bao.addr, token, ref: `vault:${mount}/${path}#api_key`, db });
  await bao.put(mount, path, { api_key: vendorKey("v2") });
  await running.poll();
  await eventually(() => expect(running.states()).toEqual({ 1: "active", 2: "standby" }));
  const close = async () => {
    await running.close();
    await db.close();
  };
  return { path, running: { ...running, close }, V1 };
}

/** How many of `n` picks hand out `secret`. */
const picks = (running: VaultPools, secret: string, n = 40) => Array.from({ length: n }, () => running.pool().pick().secret).filter((s) => s === secret).length;

describe("a Vault version in use that is not the latest", () => {
  it("is disabled when deleted in Vault while the newer version is on trial", async () => {
    const { path, running, V1 } = await withCanary();
    try {
      await bao.request("POST", `${mount}/delete/${path}`, { versions: [1] });
      await running.poll();
      expect(running.states()).toEqual({ 1: "disabled", 2: "standby" });
      expect(running.pool().get("openai/primary@v1")?.reason).toBe(`secret deleted at its source: version 1 of ${mount}/${path} was deleted in Vault`);
      expect(picks(running, V1)).toBe(0);
      // Said once, and the source is not degraded: Vault answered.
      await running.poll();
      expect(running.logs.entries.filter((e) => e.msg.startsWith("a Vault secret was deleted in Vault"))).toHaveLength(1);
      expect(running.degraded.filter(Boolean)).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it("is disabled when destroyed in Vault after the newer version was rolled back", async () => {
    const { path, running } = await withCanary();
    try {
      await running.pools.rollback("openai", "openai/primary@v2", "rejected by the vendor");
      expect(running.states()).toEqual({ 1: "active", 2: "retired" });
      await bao.request("PUT", `${mount}/destroy/${path}`, { versions: [1] });
      await running.poll();
      expect(running.states()).toEqual({ 1: "disabled", 2: "retired" });
      expect(running.pool().get("openai/primary@v1")?.reason).toBe(`secret deleted at its source: version 1 of ${mount}/${path} was destroyed in Vault`);
      expect(running.pool().unusableReason()).toBeDefined();
      expect(() => running.pool().pick()).toThrow();
    } finally {
      await running.close();
    }
  });

  it("serves on when the version in use merely ages out of max_versions: nobody deleted it", async () => {
    const { path, running, V1 } = await withCanary();
    try {
      await running.pools.rollback("openai", "openai/primary@v2", "rejected by the vendor");
      await bao.request("POST", `${mount}/metadata/${path}`, { max_versions: 2 });
      await bao.put(mount, path, { api_key: vendorKey("v3") });
      await bao.put(mount, path, { api_key: vendorKey("v4") });
      await running.poll();
      // v1 and v2 are no longer kept; v4 is staged as a canary. Nobody deleted v1.
      await eventually(() => expect(running.states()).toMatchObject({ 1: "active", 4: "standby" }));
      await running.poll();
      expect(running.states()).toMatchObject({ 1: "active", 4: "standby" });
      expect(picks(running, V1)).toBeGreaterThan(0);
    } finally {
      await running.close();
    }
  });
});
