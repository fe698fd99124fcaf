// Audit admin F2: the invisible-character check was \p{Cf} alone, so Hangul
// fillers (U+3164, U+115F, U+1160, U+FFA0), U+034F, U+17B4 and variation
// selectors passed into key names, teams, globs and requested model names,
// and `switchboard usage --by model` printed "gpt-4o-mini" and
// "gpt-4o-mini\u3164" as two rows that read the same. Every
// Default_Ignorable_Code_Point is now refused there, and written out by the CLI.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ListKeysRequestSchema } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { readKeyListing } from "../../src/api/admin/key-requests.js";
import { readFilter } from "../../src/api/admin/usage-requests.js";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { table } from "../../src/cli/admin-client.js";
import { hasControlCharacter, printable } from "../../src/common/control-characters.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** The audit's code points that are not \p{Cf}, a tag character, and the emoji joiner and variation selector. */
const INVISIBLE = ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\ufe00", "\ufe0f", "\uffa0", "\u{e0041}", "\u200d"];

const violations = (fill: (v: FieldViolations) => void) => {
  const v = new FieldViolations();
  fill(v);
  try {
    v.throwIfAny();
    return [];
  } catch (err) {
    return ConnectError.from(err).findDetails(BadRequestSchema)[0]!.fieldViolations.map(({ field, description }) => ({ field, description }));
  }
};

describe("invisible characters", () => {
  it("counts every Default_Ignorable_Code_Point as one, and the CLI writes each out", () => {
    for (const char of INVISIBLE) {
      expect(hasControlCharacter(`user A${char}`), char.codePointAt(0)!.toString(16)).toBe(true);
      expect(printable(`user A${char}`)).toBe(`user A\\u{${char.codePointAt(0)!.toString(16)}}`);
    }
    // Letters of every script, accents and a one-code-point emoji are text, shown as written.
    for (const text of ["Zoë", "東京チーム", "한글 팀", "ops 🔑", "gpt-4o-mini"]) {
      expect(hasControlCharacter(text), text).toBe(false);
      expect(printable(text)).toBe(text);
    }
  });

  it("tells apart in `switchboard usage --by model` a model name the ledger holds from before", () => {
    const out = table(["MODEL", "REQUESTS"], [["gpt-4o-mini", "5"], ["gpt-4o-mini\u3164", "1"]]);
    expect(out).toContain("gpt-4o-mini\\u{3164}");
    expect(out).not.toContain("\u3164");
  });

  it("refuses them in ListKeys' team filter and search, and in report filters", () => {
    expect(violations((v) => readKeyListing(create(ListKeysRequestSchema, { filter: 'team = "payments\u3164"' }), v))).toEqual([
      { field: "filter", description: "team must not contain control characters" },
    ]);
    expect(violations((v) => readKeyListing(create(ListKeysRequestSchema, { filter: '"user A\u115f"' }), v))).toEqual([
      { field: "filter", description: "a text to search for must not contain control characters" },
    ]);
    expect(violations((v) => readFilter("gpt-4o-mini\uffa0", "model", v))).toEqual([{ field: "model", description: "must not contain control characters" }]);
  });
});

describe("invisible characters at the gateway", () => {
  let gw: TestGateway;
  const admin = () => createClient(AdminService, gw.transport("connect"));
  const fields = async (call: Promise<unknown>) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.InvalidArgument);
    return err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field);
  };

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(() => gw?.stop());

  it("refuses them in a key's display name, team, scope and economy models, made or changed", async () => {
    for (const char of ["\u3164", "\u034f", "\ufe0f"]) {
      expect(await fields(admin().createKey({ key: { displayName: `user A${char}` } }))).toEqual(["key.display_name"]);
      expect(await fields(admin().createKey({ key: { displayName: "x", team: `payments${char}` } }))).toEqual(["key.team"]);
      expect(await fields(admin().createKey({ key: { displayName: "x", allowedModels: [`gpt-4o${char}*`] } }))).toEqual(["key.allowed_models[0]"]);
      expect(await fields(admin().createKey({ key: { displayName: "x", economyModels: [{ model: `gpt-4o${char}`, economyModel: "gpt-4o-mini" }] } }))).toContain(
        "key.economy_models[0].model",
      );
    }
    // An emoji sequence joined by U+200D or finished by U+FE0F is refused with them: it looks the same without them.
    expect(await fields(admin().createKey({ key: { displayName: "dev \u{1f469}\u200d\u{1f4bb}" } }))).toEqual(["key.display_name"]);
    await admin().createKey({ keyId: "plain", key: { displayName: "ops \u{1f511}" } });
    const rename = (displayName: string) => admin().updateKey({ key: { name: "keys/plain", displayName }, updateMask: create(FieldMaskSchema, { paths: ["display_name"] }) });
    expect(await fields(rename("ops\u3164"))).toEqual(["key.display_name"]);
  });

  it("refuses a requested model name with one, on the REST surface, before it reaches the ledger", async () => {
    const answer = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini\u3164", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(await answer.json())).toContain("model: must not contain control characters");
  });
});
