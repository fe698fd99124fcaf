// A vendor key is sent in an HTTP header, so a value that cannot go in one
// (a control character, a line break, a character beyond Latin-1, spaces at
// its ends) is refused when it is read, naming the reference and never the
// value: at start (a ConfigError, exit 78), at StageKey (FailedPrecondition),
// for a new version at its source (logged, not staged), and when a value is
// stored. One final line break (`kubectl create secret --from-file`) is
// dropped with a warning. Before, the gateway started, and every call failed
// as "could not be reached" (audit M2).
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { parseSecretRef } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { DbSecretError, DbSecretStore } from "../../src/secrets/db-secret-store.js";
import { EncryptedFileStore, SecretStoreError } from "../../src/secrets/encrypted-file-store.js";
import { EnvSecretSource, SecretResolver, type SecretSource, type SecretVersion } from "../../src/secrets/secret-source.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { LogCapture, startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";
import { adminClient, hello } from "./support/admin.js";
import { rejection } from "../support/failure.js";

const KEY = `sk-proj-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const UNSAFE = [`${KEY}\r`, `${KEY}\n\n`, `sk-a\nb${KEY}`, `${KEY}\u0000`, `${KEY}\t`, `${KEY}\u2028`, `${KEY}\u{1F511}`, ` ${KEY}`, `${KEY} `, "\n"];

function resolver(env: Record<string, string>, logs = new LogCapture()) {
  return { resolver: new SecretResolver([new EnvSecretSource(env)], createLogger("info", logs)), logs };
}

describe("resolving a secret", () => {
  it("refuses a value that cannot go in a header, naming the reference and never the value", async () => {
    for (const value of UNSAFE) {
      const { resolver: secrets } = resolver({ OPENAI_API_KEY: value });
      for (const read of [secrets.resolve(parseSecretRef("env:OPENAI_API_KEY")), secrets.read(parseSecretRef("env:OPENAI_API_KEY"))]) {
        const err = await rejection(read);
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.message).toMatch(/^env:OPENAI_API_KEY: the secret's value .+, so it cannot be sent as a vendor key \(an HTTP header\); store the key alone$/);
        expect(err.message).not.toContain(KEY.slice(8));
      }
    }
  });

  it("drops one final line break (\\n or \\r\\n), with one warning per reference", async () => {
    const { resolver: secrets, logs } = resolver({ A: `${KEY}\n`, B: `${KEY}\r\n`, C: `${KEY}é` });
    for (let i = 0; i < 3; i++) {
      expect(await secrets.resolve(parseSecretRef("env:A"))).toBe(KEY);
      expect((await secrets.read(parseSecretRef("env:B"))).value).toBe(KEY);
    }
    // Latin-1 can go in a header: not the gateway's to refuse.
    expect(await secrets.resolve(parseSecretRef("env:C"))).toBe(`${KEY}é`);
    const warnings = logs.entries.filter((e) => e.level === "warn");
    expect(warnings.map((e) => e.ref)).toEqual(["env:A", "env:B"]);
    expect(warnings[0]!.msg).toContain("ends with a line break");
    expect(logs.text).not.toContain(KEY);
  });

  it("refuses a new version a source reports, before the key pool sees it", () => {
    let report: ((secret: SecretVersion) => void) | undefined;
    const source: SecretSource = {
      scheme: "vault",
      resolve: async () => KEY,
      watch: (_ref, onChange) => ((report = onChange), () => undefined),
    };
    const seen: string[] = [];
    new SecretResolver([source]).watch(parseSecretRef("vault:secret/openai#api_key"), (secret) => seen.push(secret.value));
    // The sources catch what a watcher throws and log it as "could not stage a new version".
    expect(() => report!({ value: `${KEY}\r\nX-Injected: 1`, version: 2 })).toThrow(/^vault:secret\/openai#api_key: the secret's value holds a control character/);
    report!({ value: `${KEY}\n`, version: 3 });
    expect(seen).toEqual([KEY]);
  });
});

describe("storing a secret", () => {
  it("the database store refuses a value that cannot go in a header (InvalidArgument on the value)", async () => {
    const store = new DbSecretStore({} as SqlDatabase, () => {
      throw new Error("not reached: the value is checked first");
    });
    for (const value of [`${KEY}\r\n`, `${KEY}\n`, `a\u0007${KEY}`]) {
      const err = await rejection(store.create("openai-prod", value, "admin"));
      expect(err).toBeInstanceOf(DbSecretError);
      expect(err).toMatchObject({ code: "invalid_argument", field: "value" });
      expect(err.message).not.toContain(KEY);
    }
  });

  it("the encrypted file refuses one too", () => {
    const store = new EncryptedFileStore(`${tempDir("sb-header-")}/secrets.enc`, Buffer.alloc(32, 7));
    expect(() => store.set("openai", `${KEY}\u0000`)).toThrow(SecretStoreError);
    expect(() => store.set("openai", `${KEY}\u0000`)).toThrow(/the value for "openai" holds a control character/);
  });
});

describe("a gateway whose key ends with a line break or holds a control character", () => {
  let fake: OpenAIFake;
  let gw: TestGateway;
  const config = (base: string) => ({ providers: { openai: { base_url: base, keys: [{ id: "primary", secret: "env:KEY_A", weight: 1 }] } } });

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: KEY });
    gw = await startGateway({ KEY_A: `${KEY}\n`, OPENAI_KEY_NEXT: `${KEY}-next\r\nX: y` }, config(fake.baseUrl));
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it("serves with the key without its line break", async () => {
    const answer = await gw.client().chat(hello);
    expect(answer.provider).toBe("openai");
    expect(gw.logs.entries.some((e) => e.msg.includes("ends with a line break") && e.ref === "env:KEY_A")).toBe(true);
  });

  it("refuses to stage a key holding a control character (FailedPrecondition), naming the reference only", async () => {
    const err = await failure(adminClient(gw).stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_KEY_NEXT" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("env:OPENAI_KEY_NEXT: the secret's value holds a control character");
    expect(err.rawMessage).not.toContain(KEY);
  });

  it("does not start with one (a configuration error, which exits 78)", async () => {
    const err = await rejection(startGateway({ KEY_A: `${KEY}\u0007` }, config(fake.baseUrl)));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe("env:KEY_A: the secret's value holds a control character (a line break, a tab, …), so it cannot be sent as a vendor key (an HTTP header); store the key alone");
  });
});
