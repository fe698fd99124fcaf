// A Vault or AWS secret whose JSON lacks the field a reference names is
// refused with the fields it has (never their values). A field's name that is
// itself a key (pasted where the name goes) is masked in that message, as log
// lines mask keys: the message reaches the start-up error and the log
// (audit secrets: issue 16 / 10). AWS answers from a loopback stand-in for
// Secrets Manager's JSON API; Vault's client is a stand-in for readKv.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSecretRef } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { VaultClient } from "../../src/secrets/vault-client.js";
import { VaultSecretSource } from "../../src/secrets/vault-secret-source.js";
import { LogCapture } from "../support/gateway.js";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-stand-in.js";

const PREFIXED_KEY = "sk-proj-FIELDabcdefghij1234567890";
const BARE_KEY = "Q7wErTy9UiOp3AsDfGh5JkLzXcVbNm21QwErTy8U";
/** The JSON of the secret: a plain field, and two whose names are keys. */
const FIELDS = { region: "eu", [PREFIXED_KEY]: "x", [BARE_KEY]: "y" };

function expectMasked(message: string): void {
  expect(message).toContain('has no non-empty string field "api_key"');
  expect(message).toContain("region");
  expect(message).toContain("sk-pro…");
  expect(message).toContain("Q7wErT…");
  expect(message).not.toContain(PREFIXED_KEY);
  expect(message).not.toContain(BARE_KEY);
}

describe("a key-shaped field name in a secret's JSON", () => {
  it("is masked in Vault's missing-field refusal", async () => {
    const client = { readKv: async () => ({ version: 2, data: FIELDS }), close: () => {} } as unknown as VaultClient;
    const source = new VaultSecretSource(client, { refreshMs: 60_000, logger: createLogger("info", new LogCapture()) });
    try {
      const refusal = await source.read(parseSecretRef("vault:secret/switchboard/openai#api_key")).catch((err: Error) => err);
      expect(refusal).toBeInstanceOf(Error);
      expectMasked((refusal as Error).message);
    } finally {
      await source.close();
    }
  });

  describe("from AWS Secrets Manager", () => {
    let aws: AwsStandIn;
    beforeAll(async () => {
      aws = await startAwsStandIn((req, res) => {
        req.resume();
        req.on("end", () => {
          const target = String(req.headers["x-amz-target"] ?? "").replace("secretsmanager.", "");
          const secret = { ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:switchboard/openai-AbCdEf", Name: "switchboard/openai" };
          const version = { VersionId: "11111111-2222-3333-4444-555555555555", VersionStages: ["AWSCURRENT"], CreatedDate: 1_700_000_000 };
          const body =
            target === "DescribeSecret"
              ? { ...secret, VersionIdsToStages: { [version.VersionId]: ["AWSCURRENT"] } }
              : target === "ListSecretVersionIds"
                ? { ...secret, Versions: [version] }
                : { ...secret, ...version, SecretString: JSON.stringify(FIELDS) };
          res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify(body));
        });
      }, "sb-field-names-");
    });
    afterAll(async () => {
      await aws?.close();
    });

    it("is masked in the missing-field refusal", async () => {
      const source = aws.source({ logger: createLogger("info", new LogCapture()) });
      try {
        const refusal = await source.read(parseSecretRef("aws-sm:switchboard/openai#api_key")).catch((err: Error) => err);
        expect(refusal).toBeInstanceOf(Error);
        expectMasked((refusal as Error).message);
      } finally {
        await source.close();
      }
    });
  });
});
