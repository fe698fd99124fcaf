// A vendor key's value longer than the database store accepts (64 KiB) is
// refused from every source when it is read, naming the reference and never
// the value (audit secrets F8). Before, a 900 KB value written to Vault was
// staged as a canary: the gateway's memory doubled (the log redaction indexes
// every piece of every key) and its canary calls failed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { parseSecretRef } from "../../src/config/config.js";
import { EnvSecretSource, SecretResolver } from "../../src/secrets/secret-source.js";
import { MAX_VALUE_BYTES } from "../../src/secrets/secret-value-limit.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { rejection } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { credentialStates } from "./support/admin.js";
import { eventually } from "./support/bao.js";

const KEY = `sk-proj-${Math.random().toString(36).slice(2)}`;
/** One byte too many, its tail told from the key's by what it repeats. */
const TOO_LONG = `${KEY}${"Q".repeat(MAX_VALUE_BYTES + 1 - KEY.length)}`;
const TOO_LONG_WORDS = `the secret's value is longer than ${MAX_VALUE_BYTES} bytes, which no vendor key is; store the key alone`;

describe("resolving an over-long secret", () => {
  it("refuses it, naming the reference and never the value; a value of the limit itself is a key like any other", async () => {
    const atLimit = TOO_LONG.slice(1);
    const secrets = new SecretResolver([new EnvSecretSource({ LONG: TOO_LONG, LONG_NEWLINE: `${TOO_LONG}\n`, AT_LIMIT: atLimit, AT_LIMIT_NEWLINE: `${atLimit}\n` })]);
    for (const name of ["LONG", "LONG_NEWLINE"]) {
      const ref = parseSecretRef(`env:${name}`);
      for (const read of [secrets.resolve(ref), secrets.read(ref)]) {
        const err = await rejection(read);
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.message).toBe(`env:${name}: ${TOO_LONG_WORDS}`);
      }
    }
    expect(await secrets.resolve(parseSecretRef("env:AT_LIMIT"))).toBe(atLimit);
    // A final line break is not the value's (withoutFinalNewline): the bound is on what would be sent.
    expect(await secrets.resolve(parseSecretRef("env:AT_LIMIT_NEWLINE"))).toBe(atLimit);
  });
});

describe("an over-long new version in Vault", () => {
  let vault: FakeServer;
  let gw: TestGateway;
  let latest = { version: 1, value: KEY };

  beforeAll(async () => {
    vault = await startFakeServer((req, res) => {
      if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: 0, renewable: false } });
      if (req.path.startsWith("/v1/secret/data/switchboard/openai")) {
        return sendJson(res, 200, { data: { data: { api_key: latest.value }, metadata: { version: latest.version } } });
      }
      sendJson(res, 404, { errors: [] });
    });
    gw = await startGateway(
      { VAULT_ADDR: vault.origin, VAULT_TOKEN: "hvs.over-long-test-token-000000" },
      {
        providers: { openai: { base_url: "http://127.0.0.1:9/v1", keys: [{ id: "primary", secret: "vault:secret/switchboard/openai#api_key", weight: 1 }] } },
        secrets: { vault: { refresh_ms: 100 } },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await vault?.close();
  });

  it("is not staged: logged as a version that could not be, by reference", async () => {
    latest = { version: 2, value: TOO_LONG };
    const refused = await eventually(() => {
      const entry = gw.logs.entries.find((e) => e.msg === "could not stage a new version of a Vault secret");
      expect(entry).toBeDefined();
      return entry!;
    });
    expect(refused).toMatchObject({ ref: "vault:secret/switchboard/openai#api_key", error: `vault:secret/switchboard/openai#api_key: ${TOO_LONG_WORDS}` });
    expect([...(await credentialStates(gw)).keys()]).toEqual(["providers/openai/credentials/primary@v1"]);
    expect(gw.logs.text).not.toContain("QQQQQQQQQQQQ");
  }, 30_000);
});
