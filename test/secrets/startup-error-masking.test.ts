// The start-up "configuration error" line on stderr is masked as the JSON log
// lines are (maskKeys, src/providers/redact.ts): a store's error may quote a
// key, and stderr usually ends up in the same log pipeline. A fake Vault
// answers the KV read with an error that echoes a key.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { spawnGateway } from "../support/gateway-process.js";
import { tempDir } from "../support/stores.js";

const ECHOED = "sk-vaultkeyAAAA1111bbbbCCCC2222dddd";

describe("the start-up configuration error on stderr", () => {
  let vault: FakeServer;

  beforeAll(async () => {
    vault = await startFakeServer((req, res) => {
      if (req.path === "/v1/auth/token/lookup-self") return sendJson(res, 200, { data: { ttl: 0, renewable: false } });
      sendJson(res, 400, { errors: [`bad thing with key ${ECHOED}`] });
    });
  });
  afterAll(async () => {
    await vault?.close();
  });

  it("masks a key the store's error quotes, as the log line does", async () => {
    const dataDir = tempDir("sb-masked-start-");
    const configFile = join(dataDir, "switchboard.yaml");
    writeFileSync(configFile, `providers:\n  openai:\n    base_url: http://127.0.0.1:9/v1\n    keys:\n      - id: primary\n        secret: vault:secret/switchboard/openai#api_key\n`);
    const gateway = spawnGateway({
      SWITCHBOARD_MASTER_KEY: "sk-test-masked-start-master",
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONFIG: configFile,
      VAULT_ADDR: vault.origin,
      VAULT_TOKEN: "hvs.masked-start-test-token-00000",
    });
    const code = await gateway.exited;
    const output = gateway.output();
    expect(code, output).toBe(78);
    const stderrLines = output.split("\n").filter((line) => line.startsWith("switchboard: "));
    expect(stderrLines).toEqual([
      "switchboard: configuration error: vault: vault:secret/switchboard/openai#api_key: Vault read secret/switchboard/openai failed: HTTP 400 (bad thing with key sk-vau…)",
    ]);
    expect(output).not.toContain(ECHOED);
  }, 90_000);
});
