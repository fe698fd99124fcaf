import { create } from "@bufbuild/protobuf";
import { durationFromMs, FieldMaskSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { KeyPolicy, type KeyRecord } from "../../src/auth/key-policy.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const YEAR_MS = 365.25 * 86_400_000;
const fields = (err: ConnectError) => err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field) ?? [];

/** Admin inputs are bounded: what a key holds is copied into ledger rows, metrics labels and JSON answers. */
describe("key input limits", () => {
  let gw: TestGateway;
  // JSON, as the console speaks: a Timestamp past 9999 cannot be written in it.
  const admin = () => createClient(AdminService, gw.transport("connect"));

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(() => gw.stop());

  const refused = async (call: Promise<unknown>, field: string) => {
    const err = await failure(call);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(fields(err)).toContain(field);
    return err;
  };

  it("refuses an expiry more than 100 years away in CreateKey and UpdateKey, so ListKeys keeps answering", async () => {
    await refused(admin().createKey({ keyId: "far-ttl", key: { displayName: "x", expiration: { case: "ttl", value: durationFromMs(315_576_000_000_000) } } }), "key.ttl");
    await refused(admin().createKey({ keyId: "far-time", key: { displayName: "x", expiration: { case: "expireTime", value: timestampFromMs(Date.now() + 101 * YEAR_MS) } } }), "key.expire_time");
    await admin().createKey({ keyId: "ninety-years", key: { displayName: "x", expiration: { case: "ttl", value: durationFromMs(90 * YEAR_MS) } } });
    await refused(
      admin().updateKey({ key: { name: "keys/ninety-years", expiration: { case: "ttl", value: durationFromMs(315_576_000_000_000) } }, updateMask: create(FieldMaskSchema, { paths: ["expire_time"] }) }),
      "key.ttl",
    );
    expect((await admin().listKeys({})).keys.map((key) => key.name)).toContain("keys/ninety-years");
    expect((await failure(admin().getKey({ name: "keys/far-ttl" }))).code).toBe(Code.NotFound);
  });

  it("caps names and teams at 128 characters without control characters", async () => {
    await refused(admin().createKey({ key: { displayName: "n".repeat(129) } }), "key.display_name");
    await refused(admin().createKey({ key: { displayName: "ok\u001b[2J\u001b]0;pwned\u0007" } }), "key.display_name");
    await refused(admin().createKey({ key: { displayName: "x", team: "t".repeat(129) } }), "key.team");
    await refused(admin().createKey({ key: { displayName: "x", team: "pay\u009bments" } }), "key.team");
    // Invisible characters: a look-alike of another team ("payments" and a zero-width space), a name a bidi override reverses.
    await refused(admin().createKey({ key: { displayName: "x", team: "payments\u200b" } }), "key.team");
    await refused(admin().createKey({ key: { displayName: "\u202etxt.exe" } }), "key.display_name");
    await refused(admin().createKey({ key: { displayName: "x", allowedModels: ["gpt-4o\u2060*"] } }), "key.allowed_models[0]");
    await admin().createKey({ keyId: "sized", key: { displayName: "n".repeat(128), team: "t".repeat(128) } });
    await refused(admin().updateKey({ key: { name: "keys/sized", team: "t".repeat(1_000) }, updateMask: create(FieldMaskSchema, { paths: ["team"] }) }), "key.team");
    await refused(admin().updateKey({ key: { name: "keys/sized", displayName: "a\nb" }, updateMask: create(FieldMaskSchema, { paths: ["display_name"] }) }), "key.display_name");
  });

  it("caps model lists at 100 entries of at most 128 characters, and says so once", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `model-${i}`);
    const err = await refused(admin().createKey({ key: { displayName: "x", allowedModels: many } }), "key.allowed_models");
    expect(fields(err)).toEqual(["key.allowed_models"]);
    await refused(admin().createKey({ key: { displayName: "x", allowedModels: [`gpt-${"*".repeat(128)}`] } }), "key.allowed_models[0]");
    const mappings = many.map((model) => ({ model, economyModel: "gpt-4o-mini" }));
    await refused(admin().createKey({ key: { displayName: "x", economyModels: mappings } }), "key.economy_models");
    await refused(admin().createKey({ key: { displayName: "x", economyModels: [{ model: "gpt-4o", economyModel: "m".repeat(129) }] } }), "key.economy_models[0].economy_model");
    const made = await admin().createKey({ key: { displayName: "x", allowedModels: many.slice(0, 100) } });
    expect(made.key?.allowedModels).toHaveLength(100);
  });
});

describe("a key's scope in error messages", () => {
  const policy = (allowedModels: string[]) => new KeyPolicy({ allowedModels, economyModels: [] } as unknown as KeyRecord);

  it("quotes a short scope whole", () => {
    expect(policy(["gpt-4o*", "claude-*"]).scope).toBe("gpt-4o*, claude-*");
  });

  it("quotes only the first globs of a long scope, each cut short", () => {
    const scope = policy([`${"x".repeat(10_000)}*`, ...Array.from({ length: 999 }, (_, i) => `m-${i}`)]).scope;
    expect(scope.length).toBeLessThan(200);
    expect(scope).toMatch(/… \(990 more\)$/);
  });
});
