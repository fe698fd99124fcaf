// /healthz needs no key, so what it says of a secret source that cannot be
// read is a coarse cause ("access denied", "unreachable"), never the
// backend's own words: AWS's name the account, the IAM role and the
// instance, and Vault's can echo the request. The whole message goes to the
// log line. AWS's answers come from a small loopback stand-in for Secrets
// Manager's JSON API (moto cannot be made to refuse one caller mid-run).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { awsProblem } from "../../src/secrets/aws-client-settings.js";
import { sourceCause } from "../../src/secrets/source-cause.js";
import { scrubVaultError, VaultError } from "../../src/secrets/vault-error.js";
import { awsEnv } from "./support/aws.js";
import { eventually } from "./support/bao.js";

const NAME = "switchboard/openai";
const ACCOUNT = "123456789012";
const ROLE = "switchboard-prod-role";
const INSTANCE = "i-0abcdef1234567890";
const DENIAL = `User: arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${INSTANCE} is not authorized to perform: secretsmanager:DescribeSecret on resource: ${NAME}`;
const VENDOR_KEY = `sk-health-cause-${Math.random().toString(36).slice(2)}`;

describe("the cause of a secret source's failure", () => {
  it("says what an AWS failure came to, in a few words", () => {
    const problem = (err: unknown) => sourceCause({ problem: awsProblem(err, "DescribeSecret x") });
    expect(problem({ name: "AccessDeniedException", message: DENIAL, $metadata: { httpStatusCode: 400 } })).toBe("access denied");
    expect(problem({ name: "UnrecognizedClientException", message: "The security token included in the request is invalid.", $metadata: { httpStatusCode: 400 } })).toBe("access denied");
    expect(problem({ name: "ThrottlingException", message: "Rate exceeded", $metadata: { httpStatusCode: 400 } })).toBe("throttled");
    expect(problem({ name: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } })).toBe("not found");
    expect(problem({ name: "DecryptionFailure", message: "kms key arn:aws:kms:…", $metadata: { httpStatusCode: 400 } })).toBe("cannot decrypt");
    expect(problem({ name: "InternalServiceError", message: "oops", $metadata: { httpStatusCode: 503 } })).toBe("HTTP 503");
    expect(problem({ name: "Error", message: "connect ECONNREFUSED 127.0.0.1:9", code: "ECONNREFUSED" })).toBe("unreachable");
    expect(problem({ name: "TimeoutError", message: "socket timed out" })).toBe("unreachable");
    expect(problem({ name: "CredentialsProviderError", message: "Could not load credentials from any providers" })).toBe("no credentials");
    // The whole message, for the log line, is unchanged.
    expect(awsProblem({ name: "AccessDeniedException", message: DENIAL, $metadata: { httpStatusCode: 400 } }, "DescribeSecret x").message).toContain(ACCOUNT);
  });

  it("says what a Vault failure came to, in a few words", () => {
    const vault = (err: unknown) => sourceCause(scrubVaultError(err, "read secret/switchboard/openai", []));
    expect(vault({ response: { status: 403, data: { errors: ["permission denied", "X-Vault-Token: hvs.echoed"] } } })).toBe("access denied");
    expect(vault({ response: { status: 404, data: { errors: [] } } })).toBe("not found");
    expect(vault({ response: { status: 503, data: { errors: ["Vault is sealed"] } } })).toBe("HTTP 503");
    expect(vault({ response: { status: 429, data: { errors: ["rate limit quota exceeded"] } } })).toBe("throttled");
    expect(vault({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" })).toBe("unreachable");
    expect(vault({ code: "ECONNABORTED", message: "timeout of 5000ms exceeded" })).toBe("unreachable");
    expect(sourceCause(new VaultError("login", "Vault login failed: HTTP 400 (invalid role or secret ID)", 400))).toBe("HTTP 400");
    // Anything else the backend answered that the gateway cannot serve (no labelled version, a binary secret, …).
    expect(sourceCause(new Error(`${NAME} has no version labelled AWSCURRENT`))).toBe("no usable version");
  });
});

/** DescribeSecret, ListSecretVersionIds and GetSecretValue for one secret; every call refused as AWS refuses a role once `denied`, failed once `failing`. */
function fakeSecretsManager(state: { now: "live" | "denied" | "failing" }): Server {
  const arn = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${NAME}-AbCdEf`;
  const versionId = "11111111-2222-3333-4444-555555555555";
  return createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "").replace("secretsmanager.", "");
      const answer = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(body));
      if (state.now === "denied") return answer(400, { __type: "AccessDeniedException", message: DENIAL });
      if (state.now === "failing") return answer(500, { __type: "InternalServiceError", message: `internal error serving ${ACCOUNT}` });
      if (target === "DescribeSecret") return answer(200, { ARN: arn, Name: NAME, VersionIdsToStages: { [versionId]: ["AWSCURRENT"] } });
      if (target === "ListSecretVersionIds") return answer(200, { ARN: arn, Name: NAME, Versions: [{ VersionId: versionId, VersionStages: ["AWSCURRENT"], CreatedDate: 1_700_000_000 }] });
      if (target === "GetSecretValue") return answer(200, { ARN: arn, Name: NAME, VersionId: versionId, SecretString: JSON.stringify({ api_key: VENDOR_KEY }), VersionStages: ["AWSCURRENT"] });
      answer(400, { __type: "InvalidRequestException", message: `not faked: ${target}` });
    });
  });
}

describe("/healthz while AWS refuses the gateway's role", () => {
  const state = { now: "live" as "live" | "denied" | "failing" };
  let server: Server;
  let fake: OpenAIFake;
  let gw: TestGateway;

  beforeAll(async () => {
    server = fakeSecretsManager(state);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = await startOpenAIFake({ apiKey: VENDOR_KEY });
    gw = await startGateway(awsEnv(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), {
      providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: `aws-sm:${NAME}#api_key`, weight: 1 }] } },
      secrets: { aws: { refresh_ms: 200, timeout_ms: 500 } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("names the source and the cause, and leaves AWS's words (account, role, instance) to the log", async () => {
    const health = async (cause: string) => {
      let text = "";
      await eventually(async () => {
        text = await (await fetch(`${gw.url}/healthz`)).text();
        expect(JSON.parse(text).dependencies["aws-sm"]).toBe(`degraded: serving the last known secrets (${cause})`);
      }, 10_000);
      for (const word of [ACCOUNT, ROLE, INSTANCE, "arn:aws"]) expect(text).not.toContain(word);
    };
    state.now = "denied";
    await health("access denied");
    const logged = gw.logs.entries.find((e) => e.msg === "AWS Secrets Manager cannot be read: serving the last known secrets");
    expect(String(logged?.error)).toContain(`arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/${INSTANCE}`);
    // Another cause is logged whole too: health shows only its few words.
    state.now = "failing";
    await health("HTTP 500");
    const again = gw.logs.entries.find((e) => e.msg === "AWS Secrets Manager still cannot be read: serving the last known secrets");
    expect(String(again?.error)).toContain(`InternalServiceError (HTTP 500): internal error serving ${ACCOUNT}`);
  }, 30_000);
});
