// Vault's and AWS's error text reaches the startup error and /healthz's
// dependency detail, which needs no key: it is redacted whole before it is cut,
// so a token the server echoes across the cut leaves no prefix behind.
import { describe, expect, it } from "vitest";
import { awsProblem } from "../../src/secrets/aws-client-settings.js";
import { scrubVaultError } from "../../src/secrets/vault-error.js";

const TOKEN = "hvs.FAKETOKENabcdefghijklmnopqrstuvwxyz0123";
const SECRET_KEY = "wJalrXUtnFEMIK7MDENGbPxRfiCYFAKEKEY0123456";

describe("a secret echoed across the cut", () => {
  it("leaves nothing of a Vault token in a Vault error, at any cut position", () => {
    for (const pad of [260, 275, 290]) {
      const err = { response: { status: 403, data: { errors: [`${"x".repeat(pad)} upstream proxy rejected token ${TOKEN}`] } } };
      const message = scrubVaultError(err, "read secret/switchboard/evil", [TOKEN]).message;
      expect(message).not.toContain(TOKEN.slice(0, 8));
      expect(message).toMatch(/^Vault read secret\/switchboard\/evil failed: HTTP 403 \(x+/);
    }
  });

  it("leaves nothing of a token in a library error's first line", () => {
    const message = scrubVaultError({ message: `${"y".repeat(180)} ${TOKEN}\nstack` }, "lookup", [TOKEN]).message;
    expect(message).not.toContain(TOKEN.slice(0, 8));
  });

  it("leaves nothing of the AWS secret key in an AWS error", () => {
    for (const pad of [270, 285]) {
      const err = { name: "AccessDeniedException", message: `${"z".repeat(pad)} signed with ${SECRET_KEY}`, $metadata: { httpStatusCode: 400 } };
      const message = awsProblem(err, "GetSecretValue", { AWS_SECRET_ACCESS_KEY: SECRET_KEY }).message;
      expect(message).not.toContain(SECRET_KEY.slice(0, 8));
      expect(message).toMatch(/^AWS GetSecretValue failed: AccessDeniedException \(HTTP 400\): z+/);
    }
  });
});
