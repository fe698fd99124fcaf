// Every AdminService field that names a resource (a key, a provider, a vendor
// credential, a stored secret) is read against its pattern first: a name that
// does not fit, or that holds a secret, is refused with InvalidArgument and a
// BadRequest violation naming the field, never what it held. A caller (or an
// operator's script) that pastes a secret there must not get it back in the
// message, the ErrorInfo, the call's log line or the CLI's stderr. A
// well-formed name that is not found is named in NotFound, as before.
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { secretsCommand } from "../../src/cli/secrets-command.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

// Not shaped like a key: only knowing it finds it. A valid key id, provider id, credential id and stored secret id.
const MASTER = "correct-horse-battery-staple-0451";
/** A secret pasted where a name goes: base64, so it fits no name's pattern. */
const PASTED = `${randomBytes(30).toString("base64")}+/=`;
/** Fits every id's characters, but longer than any id may be. */
const OVERLONG = `a${"b".repeat(600)}`;

let gw: TestGateway;
const admin = () => createClient(AdminService, gw.transport("connect", MASTER));

beforeAll(async () => {
  gw = await startGateway({ SWITCHBOARD_MASTER_KEY: MASTER, OPENAI_API_KEY: "sk-up", SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("base64") });
});
afterAll(() => gw?.stop());

type Admin = ReturnType<typeof admin>;

/** Each name field of the AdminService: how it is sent, the field a refusal names, and the resource name around an id. */
const NAME_FIELDS: { rpc: string; field: string; name: (id: string) => string; call: (a: Admin, name: string) => Promise<unknown>; lookup?: boolean }[] = [
  { rpc: "GetKey", field: "name", name: (id) => `keys/${id}`, call: (a, name) => a.getKey({ name }), lookup: true },
  { rpc: "UpdateKey", field: "key.name", name: (id) => `keys/${id}`, call: (a, name) => a.updateKey({ key: { name, displayName: "x" } }), lookup: true },
  { rpc: "RevokeKey", field: "name", name: (id) => `keys/${id}`, call: (a, name) => a.revokeKey({ name }), lookup: true },
  { rpc: "StageKey", field: "parent", name: (id) => `providers/${id}`, call: (a, parent) => a.stageKey({ parent, credentialId: "next", secretRef: "env:OPENAI_API_KEY" }), lookup: true },
  {
    rpc: "StageKey",
    field: "replaces",
    name: (id) => `providers/openai/credentials/${id}`,
    call: (a, replaces) => a.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY", replaces }),
    lookup: true,
  },
  { rpc: "PromoteKey", field: "name", name: (id) => `providers/openai/credentials/${id}`, call: (a, name) => a.promoteKey({ name }), lookup: true },
  { rpc: "PromoteKey", field: "name", name: (id) => `providers/${id}/credentials/env`, call: (a, name) => a.promoteKey({ name }), lookup: true },
  { rpc: "RollbackKey", field: "name", name: (id) => `providers/openai/credentials/${id}`, call: (a, name) => a.rollbackKey({ name }), lookup: true },
  { rpc: "DisableKey", field: "name", name: (id) => `providers/openai/credentials/${id}`, call: (a, name) => a.disableKey({ name }), lookup: true },
  { rpc: "AddStoredSecretVersion", field: "parent", name: (id) => `secrets/${id}`, call: (a, parent) => a.addStoredSecretVersion({ parent, value: "sk-next" }), lookup: true },
  { rpc: "DeleteStoredSecret", field: "name", name: (id) => `secrets/${id}`, call: (a, name) => a.deleteStoredSecret({ name }), lookup: true },
  { rpc: "GetUsageReport", field: "key", name: (id) => `keys/${id}`, call: (a, key) => a.getUsageReport({ key }) },
  { rpc: "GetUsageStats", field: "key", name: (id) => `keys/${id}`, call: (a, key) => a.getUsageStats({ key }) },
  { rpc: "WatchCalls", field: "key", name: (id) => `keys/${id}`, call: (a, key) => firstOf(a.watchCalls({ key, confirmStart: true })) },
  { rpc: "PurgeCache", field: "key", name: (id) => `keys/${id}`, call: (a, key) => a.purgeCache({ key }) },
];

/** A stream's first message (the watch is then ended). */
async function firstOf(stream: AsyncIterable<unknown>): Promise<unknown> {
  for await (const message of stream) return message;
  return undefined;
}

/** Everything an error says, as text: its message, ErrorInfo and BadRequest details. */
function said(err: ConnectError): string {
  return JSON.stringify([err.rawMessage, err.findDetails(ErrorInfoSchema), err.findDetails(BadRequestSchema)]);
}

describe.each(NAME_FIELDS)("$rpc's $field", ({ field, name, call, lookup }) => {
  it.each([
    ["a pasted secret that fits no name", PASTED],
    ["an id longer than any", OVERLONG],
    ["the master key, though it fits the pattern", MASTER],
  ])("refuses %s with InvalidArgument naming the field, never the value", async (_, id) => {
    const logged = gw.logs.lines.length;
    const err = await failure(call(admin(), name(id)));
    expect(err.code, err.rawMessage).toBe(Code.InvalidArgument);
    expect(["INVALID_ARGUMENT", "SECRET_IN_FIELD"]).toContain(err.findDetails(ErrorInfoSchema)[0]?.reason);
    expect(err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual([field]);
    expect(said(err)).not.toContain(id.slice(0, 16));
    expect(gw.logs.lines.slice(logged).join("\n")).not.toContain(id.slice(0, 16));
  });

  it.runIf(lookup)("names a well-formed name that is not found", async () => {
    const err = await failure(call(admin(), name("nowhere-7")));
    expect(err.code, err.rawMessage).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("nowhere-7");
  });
});

describe("the CLI", () => {
  /** Runs a CLI command against the gateway; its stderr. */
  async function stderrOf(run: (io: { stdin: NodeJS.ReadStream; stdout: PassThrough; stderr: PassThrough; env: NodeJS.ProcessEnv }) => Promise<number>): Promise<{ code: number; stderr: string }> {
    const stderr = new PassThrough();
    const chunks: string[] = [];
    stderr.on("data", (chunk) => chunks.push(String(chunk)));
    const code = await run({ stdin: new PassThrough() as unknown as NodeJS.ReadStream, stdout: new PassThrough(), stderr, env: { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER } });
    return { code, stderr: chunks.join("") };
  }

  it("prints the refusal of a name holding a secret without the secret", async () => {
    for (const id of [PASTED, MASTER]) {
      const keys = await stderrOf((io) => keysCommand(["get", id], io));
      const secrets = await stderrOf((io) => secretsCommand(["rm", id, "--store", "db"], io));
      for (const { code, stderr } of [keys, secrets]) {
        expect(code).toBe(1);
        expect(stderr).toContain("InvalidArgument");
        expect(stderr).not.toContain(id.slice(0, 16));
      }
    }
  });
});
