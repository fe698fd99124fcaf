// The version in Vault's answer to a KV read must be a version number (a
// positive safe integer): -5, 0, 1.5, 1e21 or "3" names none, and a number
// lower than the keys in use must not pass for an older one. readKv treats
// such an answer as malformed (an outage: the last known version serves on),
// naming the field, never what it held (audit secrets: issue 16 / 10).
// "Vault" is a loopback stand-in answering the token lookup and one KV read.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { VaultClient } from "../../src/secrets/vault-client.js";
import { VaultError } from "../../src/secrets/vault-error.js";
import { LogCapture } from "../support/gateway.js";

/** The metadata version the fake's next KV read answers. */
let version: unknown = 1;
let server: Server;
let address: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.setHeader("content-type", "application/json");
    if (req.url?.startsWith("/v1/auth/token/lookup-self")) return res.end(JSON.stringify({ data: { ttl: 0, creation_ttl: 0, renewable: false } }));
    res.end(JSON.stringify({ data: { data: { api_key: "sk-version-field-0123456789" }, metadata: { version, created_time: "2026-01-01T00:00:00Z", deletion_time: "", destroyed: false } } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

function client(): VaultClient {
  return new VaultClient({ address, auth: { method: "token", token: "hvs.version-field-test" }, timeoutMs: 2_000, logger: createLogger("info", new LogCapture()) });
}

describe("the version of Vault's answer to a KV read", () => {
  it.each<[string, unknown]>([
    ["negative", -5],
    ["zero", 0],
    ["fractional", 1.5],
    ["beyond the safe integers", 1e21],
    ["a string", "3"],
    ["a string that is no number", "NaN"],
  ])("%s: the answer is malformed, the field named and its value not", async (_label, answered) => {
    version = answered;
    const vault = client();
    try {
      const failure = await vault.readKv("secret", "switchboard/openai").catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(VaultError);
      const error = failure as VaultError;
      expect(error.message).toBe("Vault read secret/switchboard/openai failed: the answer's metadata.version is no version number (a positive whole number)");
      // Malformed is an outage, never Vault's answer that the secret is gone.
      expect(error.gone).toBe(false);
    } finally {
      vault.close();
    }
  });

  it("a positive whole number is the version read", async () => {
    version = 7;
    const vault = client();
    try {
      expect(await vault.readKv("secret", "switchboard/openai")).toEqual({ version: 7, data: { api_key: "sk-version-field-0123456789" } });
    } finally {
      vault.close();
    }
  });
});
