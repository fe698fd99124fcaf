// Issue 10: identifiers refused Default_Ignorable code points but took
// look-alike spaces: "gpt-4o\u00a0" missed "gpt-4o"'s route in confusing ways,
// and an admin could make two keys, teams or scopes that read the same in the
// console. A space other than the ASCII one (U+00A0, U+1680, U+2000–U+200A,
// U+202F, U+205F, U+3000), or a model name's space at either end, is now
// refused on every surface, naming the field and the code point; free text
// (message content) takes them as before.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ListKeysRequestSchema } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { readKeyListing } from "../../src/api/admin/key-requests.js";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { validateChat, validateEmbed } from "../../src/api/validate.js";
import { lookalikeSpaceProblem } from "../../src/common/lookalike-spaces.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

/** Every space separator but U+0020, as "U+00A0" and the character. */
const LOOKALIKES = [0xa0, 0x1680, ...Array.from({ length: 11 }, (_, i) => 0x2000 + i), 0x202f, 0x205f, 0x3000].map((code) => ({
  label: `U+${code.toString(16).toUpperCase().padStart(4, "0")}`,
  char: String.fromCodePoint(code),
}));

/** The one violation an error carries, and its ErrorInfo reason. */
function refusal(err: unknown): { code: Code; reason?: string; violations: { field: string; description: string }[] } {
  const error = ConnectError.from(err);
  return {
    code: error.code,
    reason: error.findDetails(ErrorInfoSchema)[0]?.reason,
    violations: error.findDetails(BadRequestSchema)[0]?.fieldViolations.map(({ field, description }) => ({ field, description })) ?? [],
  };
}

function thrown(call: () => void): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  throw new Error("nothing was thrown");
}

const chat = (model: string, content = "hi") => create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content }] });
const embed = (model: string) => create(EmbedRequestSchema, { model, inputs: ["hi"] });

describe("look-alike spaces in identifiers", () => {
  it("names each space other than the ASCII one by its code point, and a space at either end", () => {
    for (const { label, char } of LOOKALIKES) {
      expect(lookalikeSpaceProblem(`gpt-4o${char}`), label).toContain(`must not contain ${label}`);
      expect(lookalikeSpaceProblem(`pay${char}ments`), label).toContain(label);
    }
    expect(lookalikeSpaceProblem("gpt-4o ")).toBe("must not start or end with a space: it would look like the name without it");
    expect(lookalikeSpaceProblem(" gpt-4o")).toBeDefined();
    // Letters of every script, a plain space inside, and an emoji are names as written.
    for (const name of ["gpt-4o-mini", "Payments team", "Zoë", "東京チーム", "한글 팀", "ops 🔑", "openai/gpt-4o*"]) expect(lookalikeSpaceProblem(name), name).toBeUndefined();
  });

  it("refuses a requested model name with one, InvalidArgument naming the field and the code point", () => {
    for (const { label, char } of LOOKALIKES) {
      for (const err of [thrown(() => validateChat(chat(`gpt-4o${char}`))), thrown(() => validateEmbed(embed(`text${char}embedding`)))]) {
        const { code, reason, violations } = refusal(err);
        expect(code).toBe(Code.InvalidArgument);
        expect(reason).toBe("INVALID_ARGUMENT");
        expect(violations).toHaveLength(1);
        expect(violations[0]!.field).toBe("model");
        expect(violations[0]!.description).toContain(label);
      }
    }
    expect(refusal(thrown(() => validateChat(chat("gpt-4o ")))).violations).toEqual([{ field: "model", description: "must not start or end with a space: it would look like the name without it" }]);
    // A control character is still named as one, once.
    expect(refusal(thrown(() => validateChat(chat("gpt\u0000\u00a0")))).violations).toEqual([{ field: "model", description: "must not contain control characters" }]);
  });

  it("leaves free text alone: a message may hold any space", () => {
    expect(() => validateChat(chat("gpt-4o", "hi\u00a0there\u3000 "))).not.toThrow();
  });

  it("still lets ListKeys filter by a team stored before the rule", () => {
    const v = new FieldViolations();
    const listing = readKeyListing(create(ListKeysRequestSchema, { filter: 'team = "pay\u00a0ments"' }), v);
    expect(() => v.throwIfAny()).not.toThrow();
    expect(listing.filter.team).toBe("pay\u00a0ments");
  });
});

describe("look-alike spaces at the gateway", () => {
  let gw: TestGateway;
  const admin = (protocol: "connect" | "grpc" = "connect") => createClient(AdminService, gw.transport(protocol));

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(() => gw?.stop());

  it("refuses one in a requested model on Connect and gRPC", async () => {
    for (const protocol of ["connect", "grpc"] as const) {
      const err = await failure(gw.client(protocol).chat({ model: "gpt-4o\u00a0", messages: [{ role: Role.USER, content: "hi" }] }));
      expect(refusal(err), protocol).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT", violations: [{ field: "model" }] });
      expect(refusal(err).violations[0]!.description).toContain("U+00A0");
      const embedErr = await failure(gw.client(protocol).embed({ model: "text\u3000embedding", inputs: ["hi"] }));
      expect(refusal(embedErr).violations[0]!.description, protocol).toContain("U+3000");
    }
  });

  it("refuses one in a requested model on the REST surfaces", async () => {
    const post = (path: string, body: object) =>
      fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const messages = [{ role: "user", content: "hi" }];
    for (const answer of [
      await post("/v1/chat/completions", { model: "gpt-4o\u00a0", messages }),
      await post("/v1/embeddings", { model: "text\u00a0embedding", input: "hi" }),
      await post("/v1/responses", { model: "gpt-4o\u00a0", input: "hi" }),
      await post("/v1/messages", { model: "claude\u00a0sonnet", max_tokens: 10, messages }),
    ]) {
      expect(answer.status, answer.url).toBe(400);
      expect(JSON.stringify(await answer.json()), answer.url).toContain("U+00A0");
    }
  });

  it("refuses one in a key's display name, team, scope and economy models, made or changed, on Connect and gRPC", async () => {
    for (const protocol of ["connect", "grpc"] as const) {
      const fields = async (call: Promise<unknown>) => {
        const { code, reason, violations } = refusal(await failure(call));
        expect(code).toBe(Code.InvalidArgument);
        expect(reason).toBe("INVALID_ARGUMENT");
        return violations.map(({ field, description }) => `${field}: ${description.slice(0, "must not contain U+0000".length)}`);
      };
      const make = (key: object) => admin(protocol).createKey({ key: { displayName: "x", ...key } });
      expect(await fields(make({ displayName: "ops\u00a0team" }))).toEqual(["key.display_name: must not contain U+00A0"]);
      expect(await fields(make({ team: "pay\u2009ments" }))).toEqual(["key.team: must not contain U+2009"]);
      expect(await fields(make({ allowedModels: ["gpt-4o\u202f*"] }))).toEqual(["key.allowed_models[0]: must not contain U+202F"]);
      expect(await fields(make({ economyModels: [{ model: "gpt\u30004o", economyModel: "gpt-4o\u205fmini" }] }))).toEqual([
        "key.economy_models[0].model: must not contain U+3000",
        "key.economy_models[0].economy_model: must not contain U+205F",
      ]);
      const id = `plain-${protocol}`;
      await admin(protocol).createKey({ keyId: id, key: { displayName: "ops team", team: "payments" } });
      const change = (path: string, key: object) => admin(protocol).updateKey({ key: { name: `keys/${id}`, ...key }, updateMask: create(FieldMaskSchema, { paths: [path] }) });
      expect(await fields(change("display_name", { displayName: "ops\u3000team" }))).toEqual(["key.display_name: must not contain U+3000"]);
      expect(await fields(change("team", { team: "pay\u00a0ments" }))).toEqual(["key.team: must not contain U+00A0"]);
    }
    // At either end they are trimmed, as ASCII white space is: nothing is left to look like another name.
    const { key } = await admin().createKey({ keyId: "trimmed", key: { displayName: "\u00a0ops team\u3000", team: " payments\u2002" } });
    expect({ displayName: key?.displayName, team: key?.team }).toEqual({ displayName: "ops team", team: "payments" });
  });
});
