import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import type { CallEvent } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { GatewayKeyState } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
const ask = (content: string) => ({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content }] });

/**
 * A team is a tenant: its keys share its cached answers (`share: team`) and
 * its reports are its spend. So an admin key of a team makes, changes,
 * revokes, lists and reads its own team's keys, usage and calls only; the
 * master key and admin keys without a team reach every team.
 */
describe("an admin key held to its team", () => {
  let world: UsageWorld;
  const master = () => world.admin();
  const as = (secret: string) => createClient(AdminService, world.gw.transport("connect", secret));
  let pay: ReturnType<typeof as>;
  let anyTeam: ReturnType<typeof as>;

  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
    const admin = master();
    pay = as((await admin.createKey({ keyId: "pay-admin", key: { displayName: "payments admin", team: "payments", admin: true, allowedModels: ["gpt-4o-mini*"] } })).secret);
    anyTeam = as((await admin.createKey({ keyId: "all-admin", key: { displayName: "admin of every team", admin: true } })).secret);
    for (const [keyId, team] of [
      ["pay-worker", "payments"],
      ["search-worker", "search"],
      ["teamless-worker", ""],
    ]) {
      const { secret } = await admin.createKey({ keyId: keyId!, key: { displayName: keyId!, team: team!, allowedModels: ["gpt-4o-mini"] } });
      await world.gw.client("connect", secret).chat(ask(`a call of ${keyId}`));
    }
  });
  afterAll(() => world.close());

  const expectOutsideTeam = async (call: Promise<unknown>, metadata: Record<string, string>) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0], err.rawMessage).toMatchObject({ reason: "OUTSIDE_OWN_TEAM", metadata: { key: "pay-admin", ...metadata } });
    // Another tenant's team is not named.
    expect(err.rawMessage).not.toMatch(/"search"/);
  };
  const expectTeamBeyondPolicy = async (call: Promise<unknown>) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0], err.rawMessage).toMatchObject({ reason: "OUTSIDE_OWN_POLICY", metadata: { key: "pay-admin", field: "team" } });
  };

  it("makes keys in its own team only, a key asked for without a team going to its team", async () => {
    await expectTeamBeyondPolicy(pay.createKey({ keyId: "planted", key: { displayName: "planted", team: "search", allowedModels: ["gpt-4o-mini"] } }));
    expect((await failure(master().getKey({ name: "keys/planted" }))).code).toBe(Code.NotFound);
    expect((await pay.createKey({ keyId: "pay-made", key: { displayName: "made", allowedModels: ["gpt-4o-mini"] } })).key?.team).toBe("payments");
    expect((await pay.createKey({ keyId: "pay-named", key: { displayName: "named", team: "payments", allowedModels: ["gpt-4o-mini"] } })).key?.team).toBe("payments");
    // Admin keys without a team still make keys in any team.
    expect((await anyTeam.createKey({ keyId: "search-made", key: { displayName: "made", team: "search" } })).key?.team).toBe("search");
  });

  it("changes its own team's keys only, and moves none out of it or into it", async () => {
    await expectOutsideTeam(pay.updateKey({ key: { name: "keys/search-worker", team: "payments" }, updateMask: mask("team") }), { action: "change", target: "keys/search-worker" });
    await expectOutsideTeam(pay.updateKey({ key: { name: "keys/teamless-worker", team: "payments" }, updateMask: mask("team") }), { action: "change", target: "keys/teamless-worker" });
    await expectTeamBeyondPolicy(pay.updateKey({ key: { name: "keys/pay-worker", team: "search" }, updateMask: mask("team") }));
    await expectTeamBeyondPolicy(pay.updateKey({ key: { name: "keys/pay-worker", team: "" }, updateMask: mask("team") }));
    expect((await master().getKey({ name: "keys/search-worker" })).key?.team).toBe("search");
    expect((await master().getKey({ name: "keys/pay-worker" })).key?.team).toBe("payments");
    expect((await pay.updateKey({ key: { name: "keys/pay-worker", displayName: "renamed" }, updateMask: mask("display_name") })).key?.displayName).toBe("renamed");
    expect((await anyTeam.updateKey({ key: { name: "keys/search-made", team: "research" }, updateMask: mask("team") })).key?.team).toBe("research");
  });

  it("revokes its own team's keys only", async () => {
    await expectOutsideTeam(pay.revokeKey({ name: "keys/search-worker" }), { action: "revoke", target: "keys/search-worker" });
    await expectOutsideTeam(pay.revokeKey({ name: "keys/all-admin" }), { action: "revoke", target: "keys/all-admin" });
    expect((await master().getKey({ name: "keys/search-worker" })).key?.state).toBe(GatewayKeyState.ACTIVE);
    expect((await pay.revokeKey({ name: "keys/pay-named" })).key?.state).toBe(GatewayKeyState.REVOKED);
    expect((await failure(pay.revokeKey({ name: "keys/no-such-key" }))).code).toBe(Code.NotFound);
  });

  it("lists and reads its own team's keys only", async () => {
    const listed = (await pay.listKeys({ pageSize: 100 })).keys.map((key) => key.name);
    expect(listed.sort()).toEqual(["keys/pay-admin", "keys/pay-made", "keys/pay-named", "keys/pay-worker"]);
    expect((await pay.listKeys({ filter: '"worker"' })).keys.map((key) => key.name)).toEqual(["keys/pay-worker"]);
    expect((await pay.listKeys({ filter: 'team = "payments"' })).keys).toHaveLength(4);
    await expectOutsideTeam(pay.listKeys({ filter: 'team = "search"' }), { field: "filter" });
    await expectOutsideTeam(pay.getKey({ name: "keys/search-worker" }), { action: "read", target: "keys/search-worker" });
    expect((await pay.getKey({ name: "keys/pay-worker" })).key?.team).toBe("payments");
    // Every team's, for an admin key without one.
    expect((await anyTeam.listKeys({ pageSize: 100 })).keys.map((key) => key.name)).toContain("keys/search-worker");
  });

  it("reports its own team's usage only", async () => {
    const byTeam = await pay.getUsageReport({ groupBy: [UsageDimension.TEAM] });
    expect(byTeam.rows.map((row) => row.team)).toEqual(["payments"]);
    expect(byTeam.total?.requests).toBe(1n);
    // Another team's key is simply not in the team's report.
    expect((await pay.getUsageReport({ key: "keys/search-worker" })).total?.requests).toBe(0n);
    await expectOutsideTeam(pay.getUsageReport({ team: "search" }), { field: "team" });
    const stats = await pay.getUsageStats({ groupBy: UsageDimension.TEAM });
    expect(stats.series.map((series) => series.group)).toEqual(["payments"]);
    await expectOutsideTeam(pay.getUsageStats({ team: "search" }), { field: "team" });
    expect((await anyTeam.getUsageReport({ groupBy: [UsageDimension.TEAM] })).rows.map((row) => row.team).sort()).toEqual(["", "payments", "search"]);
  });

  it("watches its own team's calls only", async () => {
    const stop = new AbortController();
    const seen: CallEvent[] = [];
    const watching = (async () => {
      for await (const res of pay.watchCalls({ confirmStart: true }, { signal: stop.signal })) if (res.call) seen.push(res.call);
    })().catch(() => {});
    const { secret } = await master().createKey({ keyId: "pay-watched", key: { displayName: "watched", team: "payments" } });
    const search = (await master().createKey({ keyId: "search-watched", key: { displayName: "watched", team: "search" } })).secret;
    await vi.waitFor(async () => {
      await world.gw.client("connect", search).chat(ask("another team's call"));
      await world.gw.client("connect").chat(ask("the master key's call"));
      await world.gw.client("connect", secret).chat(ask("the team's call"));
      expect(seen.length).toBeGreaterThan(0);
    });
    stop.abort();
    await watching;
    expect(new Set(seen.map((call) => call.team))).toEqual(new Set(["payments"]));
  });
});
