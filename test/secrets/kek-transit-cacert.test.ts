// A Vault with a private CA (VAULT_CACERT) must serve Transit as it serves KV:
// the Transit KEK's own requests trust the same CA bundle. The "Vault" here is
// an HTTPS server with a self-signed certificate answering transit/encrypt.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransitKek } from "../../src/secrets/kek-transit.js";
import type { VaultClient } from "../../src/secrets/vault-client.js";

let dir: string;
let server: Server;
let address: string;
const tokensSeen: string[] = [];

// Only the session matters here: the token is handed over as VaultClient.withSession does.
const vault = { withSession: (_metric: string, _operation: string, run: (token: string) => Promise<unknown>) => run("hvs.test") } as unknown as VaultClient;

/** Listens on the first free port of the range the tests may use. */
async function listenInRange(target: Server, from = 43470, to = 43499): Promise<number> {
  for (let port = from; port <= to; port++) {
    const bound = await new Promise<boolean>((resolve) => {
      target.once("error", () => resolve(false));
      target.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (bound) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-transit-ca-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { stdio: "ignore" });
  server = createServer({ cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) }, (req, res) => {
    tokensSeen.push(String(req.headers["x-vault-token"]));
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ data: { ciphertext: "vault:v3:c2VjcmV0" } }));
  });
  address = `https://127.0.0.1:${await listenInRange(server)}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("the Transit KEK and VAULT_CACERT", () => {
  it("trusts a Vault signed by the CA in VAULT_CACERT", async () => {
    const kek = new TransitKek(vault, { address, mount: "transit", key: "switchboard", timeoutMs: 5_000, caCertFile: join(dir, "cert.pem") });
    expect(await kek.current()).toBe("vault-transit:transit/switchboard:v3");
    expect(tokensSeen).toContain("hvs.test");
  });

  it("refuses that Vault without the CA (the system's CAs do not know it)", async () => {
    const kek = new TransitKek(vault, { address, mount: "transit", key: "switchboard", timeoutMs: 5_000 });
    await expect(kek.current()).rejects.toThrow();
  });
});
