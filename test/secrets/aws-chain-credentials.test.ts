// AWS credentials the SDK finds on its own chain (a credentials file here; web
// identity, container or instance metadata in production) are as secret as
// those given in the environment: an AWS answer, or a proxy's, that echoes the
// session token it was signed with is redacted in the error that quotes it
// (audit: the token was printed whole in the start-up error).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSecretRef } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { tempDir } from "../support/stores.js";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-stand-in.js";

const SECRET_ACCESS_KEY = "chainSecretAccessKey0123456789abcdefGHIJKL";
const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDk3x+7a9Qw2ZpL/5sT8nV0bR1yUe";
/** Variables that would put credentials ahead of the file on the SDK's chain (CI sets some for moto). */
const CHAIN_AHEAD = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"];

describe("credentials from the SDK's chain", () => {
  let aws: AwsStandIn;
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    // Answers as an endpoint that echoes the token it was sent would.
    aws = await startAwsStandIn((req, res) => {
      req.resume();
      const token = req.headers["x-amz-security-token"];
      res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ __type: "AccessDeniedException", message: `User is not authorized; token presented: ${String(token)}` }));
    }, "sb-aws-chain-");
    const dir = tempDir("sb-aws-chain-");
    const file = join(dir, "credentials");
    writeFileSync(file, `[default]\naws_access_key_id = AKIACHAINFILE0000001\naws_secret_access_key = ${SECRET_ACCESS_KEY}\naws_session_token = ${SESSION_TOKEN}\n`);
    for (const name of [...CHAIN_AHEAD, "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED"]) saved.set(name, process.env[name]);
    for (const name of CHAIN_AHEAD) delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    process.env.AWS_CONFIG_FILE = join(dir, "no-config");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
  });
  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await aws?.close();
  });

  it("are redacted in an AWS error that echoes them, as those of the environment are", async () => {
    const source = aws.source({
      timeoutMs: 5_000,
      // No keys in the gateway's environment: the SDK's chain finds the file.
      env: {},
      logger: createLogger("silent"),
    });
    try {
      const err = await source.resolve(parseSecretRef("aws-sm:switchboard/openai")).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(err?.message).toContain("AccessDeniedException");
      expect(err?.message).toContain("token presented: [redacted]");
      expect(err?.message).not.toContain(SESSION_TOKEN.slice(0, 16));
    } finally {
      await source.close();
    }
  });
});
