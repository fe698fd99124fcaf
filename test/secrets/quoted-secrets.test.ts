// A vendor key wrapped in matching quotes ("sk-…" or 'sk-…'), as `docker run
// --env-file` and some .env loaders keep them, went to the vendor quotes and
// all: a 401, and the key disabled (audit pools2 #5). It is refused when read,
// naming the reference (the variable) and never the value: at start a
// configuration error (exit 78), at StageKey FailedPrecondition; and when
// stored (`secrets set`, the database store's admin calls), InvalidArgument.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { parseSecretRef } from "../../src/config/config.js";
import { DbSecretError, DbSecretStore } from "../../src/secrets/db-secret-store.js";
import { EncryptedFileStore } from "../../src/secrets/encrypted-file-store.js";
import { EnvSecretSource, SecretResolver } from "../../src/secrets/secret-source.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { tempDir } from "../support/stores.js";
import { startGateway } from "../support/gateway.js";
import { rejection } from "../support/failure.js";

const KEY = `sk-proj-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const REFUSAL = `env:OPENAI_API_KEY: the secret's value is wrapped in quotes ("…" or '…'), which no vendor key is: a loader of an env file kept them (as docker run --env-file does); store the key without them`;

describe("a vendor key wrapped in quotes", () => {
  it("is refused when read, naming the variable and never the value", async () => {
    for (const value of [`"${KEY}"`, `'${KEY}'`, `"${KEY}"\n`, `""`]) {
      const secrets = new SecretResolver([new EnvSecretSource({ OPENAI_API_KEY: value })]);
      for (const read of [secrets.resolve(parseSecretRef("env:OPENAI_API_KEY")), secrets.read(parseSecretRef("env:OPENAI_API_KEY"))]) {
        const err = await rejection(read);
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.message).toBe(REFUSAL);
        expect(err.message).not.toContain(KEY.slice(8));
      }
    }
  });

  it("but a quote that is not one of a pair around the whole value is the value's own", async () => {
    for (const value of [`"${KEY}`, `${KEY}'`, `"${KEY}'`, `sk-"${KEY.slice(3)}"`]) {
      const secrets = new SecretResolver([new EnvSecretSource({ OPENAI_API_KEY: value })]);
      expect(await secrets.resolve(parseSecretRef("env:OPENAI_API_KEY"))).toBe(value);
    }
  });

  it("is refused when stored, in the encrypted file and the database alike, so it never waits to fail at read", async () => {
    const file = new EncryptedFileStore(`${tempDir("sb-quoted-")}/secrets.enc`, Buffer.alloc(32, 7));
    const database = new DbSecretStore({} as SqlDatabase, () => {
      throw new Error("not reached: the value is checked first");
    });
    for (const value of [`"${KEY}"`, `'${KEY}'`]) {
      expect(() => file.set("openai", value)).toThrow(`the value for "openai" is wrapped in quotes`);
      const err = await rejection(database.create("openai-prod", value, "admin"));
      expect(err).toBeInstanceOf(DbSecretError);
      expect(err).toMatchObject({ code: "invalid_argument", field: "value" });
      expect(err.message).toContain("is wrapped in quotes");
      expect(err.message).not.toContain(KEY.slice(8));
    }
    expect(file.set("openai", `sk-"${KEY.slice(3)}"`)).toBe(false); // a quote inside is the value's own
  });

  it("stops the gateway at start (a configuration error, which exits 78)", async () => {
    const config = { providers: { openai: { base_url: "http://127.0.0.1:43600/v1", keys: [{ id: "primary", secret: "env:OPENAI_API_KEY", weight: 1 }] } } };
    const err = await rejection(startGateway({ OPENAI_API_KEY: `"${KEY}"` }, config));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(REFUSAL);
  });
});
