import { Writable } from "node:stream";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { cacheCommand } from "../../src/cli/cache-command.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

/** A deterministic question (temperature 0): cached by default. */
const ask = (content: string, model = "gpt-4o-mini") => ({ model, messages: [{ role: Role.USER, content }], temperature: 0 });

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

/**
 * A team is a tenant, and its cached answers are its own: an admin key of a
 * team purges its team's partition and its keys' own, and nothing of another
 * team's, of the master key's or of a whole model's. The master key and admin
 * keys without a team purge anything. In this process's memory only, and
 * with Redis (L2) behind it.
 */
describe.each<Backend>(["sqlite", "postgres+redis"])("PurgeCache by an admin key held to its team (%s)", (backend) => {
  let world: UsageWorld;
  const secrets: Record<string, string> = {};
  const admin = (key: string) => createClient(AdminService, world.gw.transport("connect", secrets[key]));
  /** Whether the key's question is answered from the cache (asking keeps it again when it was not). */
  const cached = async (key: string | null, question: ReturnType<typeof ask>) => (await world.gw.client("connect", key === null ? undefined : secrets[key]).chat(question)).cached;
  const own = (key: string) => ask(`${key}'s own question`);
  const teams = (key: string) => ask(`${key}'s team question`, "team-model");

  beforeAll(async () => {
    world = await startUsageWorld(backend, { routes: [{ model: "team-*", provider: "openai", upstream_model: "gpt-4o-mini", cache: { share: "team" } }] });
    const master = world.admin();
    for (const [keyId, team, isAdmin] of [
      ["pay-admin", "payments", true],
      ["all-admin", "", true],
      ["pay-worker", "payments", false],
      ["search-worker", "search", false],
    ] as const) {
      secrets[keyId] = (await master.createKey({ keyId, key: { displayName: keyId, team, admin: isAdmin } })).secret;
    }
    for (const key of ["pay-worker", "search-worker"]) for (const question of [own(key), teams(key)]) await cached(key, question);
    await cached(null, own("master"));
  });
  afterAll(() => world?.close());

  const expectOutsideTeam = async (call: Promise<unknown>, metadata: Record<string, string>) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0], err.rawMessage).toMatchObject({ reason: "OUTSIDE_OWN_TEAM", metadata: { key: "pay-admin", ...metadata } });
    // Another tenant's team is not named.
    expect(err.rawMessage).not.toMatch(/"search"/);
  };

  it("refuses another team's answers, another team's key's, the master key's and a whole model's", async () => {
    const pay = admin("pay-admin");
    await expectOutsideTeam(pay.purgeCache({ team: "search" }), { field: "team" });
    await expectOutsideTeam(pay.purgeCache({ team: "search", model: "gpt-4o-mini" }), { field: "team" });
    await expectOutsideTeam(pay.purgeCache({ key: "keys/search-worker" }), { action: "purge", target: "keys/search-worker" });
    await expectOutsideTeam(pay.purgeCache({ key: "keys/all-admin", model: "gpt-4o-mini" }), { action: "purge", target: "keys/all-admin" });
    await expectOutsideTeam(pay.purgeCache({ key: "keys/master" }), { action: "purge", target: "keys/master" });
    // A model alone reaches every team's answers, and those routes share with everyone.
    await expectOutsideTeam(pay.purgeCache({ model: "gpt-4o-mini" }), { field: "model" });
    await expectOutsideTeam(pay.purgeCache({ model: "openai/gpt-4o-mini" }), { field: "model" });
    // A key that does not exist is NotFound, as for GetKey.
    expect((await failure(pay.purgeCache({ key: "keys/no-such-key" }))).code).toBe(Code.NotFound);

    const stderr = new Capture();
    const code = await cacheCommand(["purge", "--team", "search"], { stdout: new Capture(), stderr, env: { SWITCHBOARD_URL: world.gw.url, SWITCHBOARD_ADMIN_KEY: secrets["pay-admin"] } });
    expect([code, stderr.text]).toEqual([1, expect.stringContaining("PermissionDenied: key \"pay-admin\" may only purge the cached answers of its own team \"payments\"")]);
    // Its key is an admin key: no hint that it is not.
    expect(stderr.text).not.toContain("must be the master key or a key with the admin scope");

    // Nothing was purged.
    for (const key of ["pay-worker", "search-worker"]) expect([await cached(key, own(key)), await cached(key, teams(key))]).toEqual([true, true]);
    expect(await cached(null, own("master"))).toBe(true);
  });

  it("purges its own team's partition and its own keys' answers, and no other team's", async () => {
    const pay = admin("pay-admin");
    expect((await pay.purgeCache({ team: "payments" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect([await cached("pay-worker", teams("pay-worker")), await cached("pay-worker", own("pay-worker"))]).toEqual([false, true]);
    expect((await pay.purgeCache({ key: "keys/pay-worker", model: "openai/gpt-4o-mini" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect(await cached("pay-worker", own("pay-worker"))).toBe(false);
    const stdout = new Capture();
    const code = await cacheCommand(["purge", "--key", "pay-worker"], { stdout, stderr: new Capture(), env: { SWITCHBOARD_URL: world.gw.url, SWITCHBOARD_ADMIN_KEY: secrets["pay-admin"] } });
    expect([code, stdout.text]).toMatchObject([0, expect.stringMatching(/^purged [1-9]\d* cached answers?\n$/)]);
    expect(await cached("pay-worker", own("pay-worker"))).toBe(false);
    // The other team's answers are all there.
    expect([await cached("search-worker", own("search-worker")), await cached("search-worker", teams("search-worker"))]).toEqual([true, true]);
  });

  it("leaves an admin key without a team, and the master key, free to purge any team's answers and a whole model's", async () => {
    const all = admin("all-admin");
    expect((await all.purgeCache({ team: "search" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect(await cached("search-worker", teams("search-worker"))).toBe(false);
    expect((await all.purgeCache({ model: "gpt-4o-mini" })).purgedEntries).toBeGreaterThanOrEqual(2n);
    expect([await cached("search-worker", own("search-worker")), await cached(null, own("master"))]).toEqual([false, false]);
    expect((await world.admin().purgeCache({ key: "keys/master" })).purgedEntries).toBeGreaterThanOrEqual(1n);
    expect(await cached(null, own("master"))).toBe(false);
  });
});
