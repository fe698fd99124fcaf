// Only Vault's own answer that a secret is gone disables the keys holding it.
// A 404 from whatever sits in front of Vault (an ingress's default backend, an
// HTML page, a proxy's 200 page) or Vault's "no handler for route" is an
// outage: the last known key serves on, the source reports itself degraded,
// and nothing is refused in the store, so neither the running instance nor a
// restart loses the key. Real OpenBao behind a tiny loopback proxy that
// injects the answers; the pools are polled on a clock the test moves.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlDatabase } from "../../src/store/sql.js";
import { openMigratedDatabase } from "../support/stores.js";
import { baoMountWithReadToken, unique, type BaoAdmin } from "./support/bao.js";
import { DEFAULT_BACKEND_404, vaultFaultProxy, type Fault, type VaultFaultProxy } from "./support/vault-fault-proxy.js";
import { vaultPools, withVaultPools } from "./support/vault-pools.js";

const mount = unique("sb-foreign-404");
let bao: BaoAdmin;
let token: string;
let proxy: VaultFaultProxy;
let db: SqlDatabase;

beforeAll(async () => {
  ({ bao, token } = await baoMountWithReadToken(mount));
  proxy = await vaultFaultProxy(bao.addr);
  ({ db } = await openMigratedDatabase("sqlite"));
});
afterAll(async () => {
  await proxy?.close();
  await db?.close();
});

const answer = (status: number, contentType: string, body: string): Fault => () => ({ status, contentType, body });
const onLatestReads = (fault: Fault): Fault => (path) => (path.includes("/data/") && !path.includes("version=") ? fault(path) : undefined);

describe("an answer at VAULT_ADDR that is not Vault's answer that the secret is gone", () => {
  it.each<[string, Fault]>([
    ["an ingress's plain-text 404 (default backend)", DEFAULT_BACKEND_404],
    ["an HTML 404 page", answer(404, "text/html", "<html><body><h1>404 Not Found</h1></body></html>")],
    ["Vault's 404 for a mount it has not (no handler for route)", answer(404, "application/json", JSON.stringify({ errors: [`no handler for route "${mount}/data/x". route entry not found.`] }))],
    ["a 404 with Vault's empty error list on a read of the latest, while the version held still reads", onLatestReads(answer(404, "application/json", '{"errors":[]}'))],
    ["a proxy's 200 page", answer(200, "text/html", "<html><body>maintenance</body></html>")],
  ])("%s is an outage: the key serves on, degraded, and survives a restart", async (_label, fault) => {
    const path = `switchboard/${unique("openai")}`;
    const ref = `vault:${mount}/${path}#api_key`;
    const KEY = `sk-foreign-${randomBytes(12).toString("hex")}`;
    await bao.put(mount, path, { api_key: KEY });
    const running = await vaultPools({ addr: proxy.addr, token, ref, db });
    try {
      proxy.fault(fault);
      await running.poll();
      await running.poll();
      expect(running.states()).toEqual({ 1: "active" });
      expect(running.pool().pick().secret).toBe(KEY);
      expect(running.degraded.at(-1)).toBeDefined();
      expect(running.logs.entries.filter((e) => e.msg.includes("was deleted"))).toEqual([]);

      proxy.fault(undefined);
      await running.poll();
      expect(running.degraded.at(-1)).toBeUndefined();
      expect(running.states()).toEqual({ 1: "active" });
    } finally {
      proxy.fault(undefined);
      await running.close();
    }
    // Nothing was refused in the store: a restart serves the key too.
    await withVaultPools({ addr: proxy.addr, token, ref, db }, (restarted) => expect(restarted.states()).toEqual({ 1: "active" }));
  });

  it("says in the log that the 404 is not Vault's, and in health only that it was not found", async () => {
    const path = `switchboard/${unique("openai")}`;
    await bao.put(mount, path, { api_key: `sk-foreign-${randomBytes(12).toString("hex")}` });
    const running = await vaultPools({ addr: proxy.addr, token, ref: `vault:${mount}/${path}#api_key`, db });
    try {
      proxy.fault(DEFAULT_BACKEND_404);
      await running.poll();
      expect(running.degraded.at(-1)).toBe("not found");
      const warning = running.logs.entries.find((e) => e.msg === "Vault cannot be read: serving the last known secrets");
      expect(warning?.error).toBe(`Vault read ${mount}/${path} failed: HTTP 404 (not Vault's answer: is VAULT_ADDR right, or is a proxy in front of Vault answering?)`);
    } finally {
      proxy.fault(undefined);
      await running.close();
    }
  });

  it("still takes Vault's own answer: every version gone (metadata deleted) disables the key", async () => {
    const path = `switchboard/${unique("openai")}`;
    await bao.put(mount, path, { api_key: `sk-foreign-${randomBytes(12).toString("hex")}` });
    await withVaultPools({ addr: proxy.addr, token, ref: `vault:${mount}/${path}#api_key`, db }, async (running) => {
      await bao.request("DELETE", `${mount}/metadata/${path}`);
      await running.poll();
      expect(running.states()).toEqual({ 1: "disabled" });
      expect(running.pool().get("openai/primary@v1")?.reason).toBe(`secret deleted at its source: nothing is at ${mount}/${path} in Vault any more (every version is gone)`);
      expect(running.degraded.filter(Boolean)).toEqual([]);
    });
  });
});
