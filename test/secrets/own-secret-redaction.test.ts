// The gateway's own secrets (its master key, the data key of its encrypted
// file and database store, its Vault token, its AWS secret key) are redacted
// wherever the pools' vendor keys are: none is shaped like a vendor's key, so
// only knowing them finds them. A vendor (or a proxy in front of one) that
// echoes one in an error must not have it reach the caller or the log.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { rememberSecret, redactSecrets } from "../../src/providers/redact.js";
import { loadDataKey } from "../../src/secrets/data-key.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { tempDir } from "../support/stores.js";

const OWN = {
  SWITCHBOARD_MASTER_KEY: "correct-horse-battery-staple-0451",
  // Hex: one case, so no pattern of a key's shape takes it for one.
  SWITCHBOARD_SECRET_KEY: randomBytes(32).toString("hex"),
  VAULT_TOKEN: "dev-root-token-7f3a9c1e",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const PREVIOUS = [randomBytes(32).toString("hex"), randomBytes(32).toString("base64")];

let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gw = await startGateway({ ...OWN, SWITCHBOARD_SECRET_KEY_PREVIOUS: PREVIOUS.join(","), OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

describe("a vendor's error quoting the gateway's own secrets", () => {
  it.each([...Object.entries(OWN), ...PREVIOUS.map((value) => ["SWITCHBOARD_SECRET_KEY_PREVIOUS", value])])("never shows %s to the caller or in the log", async (_, secret) => {
    fake.enqueue({ kind: "error", status: 400, body: { error: { message: `the proxy saw ${secret} in the request`, type: "invalid_request_error", param: null, code: null } } });
    const err = await failure(gw.client("connect", OWN.SWITCHBOARD_MASTER_KEY).chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] }));
    expect(err.rawMessage).toContain("the proxy saw [redacted] in the request");
    expect(gw.logs.text).toContain("the proxy saw [redacted] in the request");
    expect(gw.logs.text).not.toContain(secret);
  });
});

describe("the data key read from a key file", () => {
  it("is redacted from then on, as written and as base64 or hex", () => {
    const key = randomBytes(32);
    const path = join(tempDir("sb-own-key-"), "data.key");
    writeFileSync(path, `${key.toString("base64url")}\n`, { mode: 0o600 });
    expect(loadDataKey({}, path)).toEqual(key);
    for (const form of ["base64url", "base64", "hex"] as const) {
      // A base64 key's padding may be left after it: it tells nothing.
      expect(redactSecrets(`echo: ${key.toString(form)};`)).toMatch(/^echo: \[redacted\]=?;$/);
    }
  });
});

describe("the vendor keys remembered", () => {
  it("never crowd out the gateway's own secrets, however many come and go", () => {
    for (let i = 0; i < 1500; i++) rememberSecret(`vendor-${i}-${randomBytes(8).toString("hex")}`);
    for (const secret of Object.values(OWN)) expect(redactSecrets(`echo: ${secret};`)).toBe("echo: [redacted];");
  });
});
