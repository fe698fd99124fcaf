// An `aws-sm:` secret deleted in AWS is a definite answer, not an outage: its
// watchers are told, once, and it is served no more. A refusal
// (AccessDeniedException) is not such an answer: the last known value is
// served on. AWS's answers come from a small loopback stand-in for Secrets
// Manager's JSON API, shaped as AWS documents them: DescribeSecret carries
// DeletedDate once a deletion is scheduled, and every call answers
// ResourceNotFoundException once the secret is gone. (moto answers the same;
// the other aws-sm tests run against it.)
import type { RequestListener } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSecretRef } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { createLogger } from "../../src/observability/logger.js";
import type { SecretGone } from "../../src/secrets/secret-gone.js";
import { LogCapture } from "../support/gateway.js";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-stand-in.js";

const NAME = "switchboard/openai";
const ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${NAME}-AbCdEf`;
const VERSION_ID = "11111111-2222-3333-4444-555555555555";
const VALUE = `sk-aws-deleted-${Math.random().toString(36).slice(2)}`;
const DELETION = new Date("2027-01-31T00:00:00Z");

type Mode = "live" | "scheduled" | "gone" | "denied";

/** Answers DescribeSecret, ListSecretVersionIds and GetSecretValue for one secret, in the given mode. */
function secretsManagerAnswers(mode: { now: Mode }): RequestListener {
  return (req, res) => {
    req.resume();
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "").replace("secretsmanager.", "");
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(body));
      };
      if (mode.now === "gone") return answer(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
      if (mode.now === "denied") return answer(400, { __type: "AccessDeniedException", message: "User is not authorized to perform: secretsmanager:DescribeSecret" });
      if (target === "DescribeSecret") {
        return answer(200, {
          ARN,
          Name: NAME,
          VersionIdsToStages: { [VERSION_ID]: ["AWSCURRENT"] },
          ...(mode.now === "scheduled" ? { DeletedDate: DELETION.getTime() / 1000 } : {}),
        });
      }
      if (target === "ListSecretVersionIds") return answer(200, { ARN, Name: NAME, Versions: [{ VersionId: VERSION_ID, VersionStages: ["AWSCURRENT"], CreatedDate: 1_700_000_000 }] });
      if (target === "GetSecretValue") {
        if (mode.now === "scheduled") return answer(400, { __type: "InvalidRequestException", message: "You can't perform this operation on the secret because it was marked for deletion." });
        return answer(200, { ARN, Name: NAME, VersionId: VERSION_ID, SecretString: JSON.stringify({ api_key: VALUE }), VersionStages: ["AWSCURRENT"], CreatedDate: 1_700_000_000 });
      }
      answer(400, { __type: "InvalidRequestException", message: `not faked: ${target}` });
    });
  };
}

describe("an aws-sm: secret deleted in AWS", () => {
  const mode = { now: "live" as Mode };
  let aws: AwsStandIn;

  beforeAll(async () => {
    aws = await startAwsStandIn(secretsManagerAnswers(mode), "sb-aws-deleted-");
  });
  afterAll(async () => {
    await aws?.close();
  });

  /** A source on a clock the test moves: each `poll()` is one due re-read of the watched secrets. */
  async function watched() {
    mode.now = "live";
    const logs = new LogCapture();
    const clock = { now: 1_000_000 };
    const degraded: (string | undefined)[] = [];
    const source = aws.source({
      logger: createLogger("debug", logs),
      reportDegraded: (_c, problem) => degraded.push(problem),
      now: () => clock.now,
    });
    const ref = parseSecretRef(`aws-sm:${NAME}#api_key`);
    const first = await source.read(ref);
    expect(first.value).toBe(VALUE);
    const gone: SecretGone[] = [];
    source.watch(ref, () => {}, (news) => gone.push(news));
    const poll = async () => {
      clock.now += 60_000;
      await source.refreshWatched();
    };
    return { source, ref, gone, poll, logs, degraded, version: first.version };
  }

  it("scheduled for deletion: every version is gone, said once, and reads are refused", async () => {
    const { source, ref, gone, poll, logs, degraded } = await watched();
    mode.now = "scheduled";
    await poll();
    await poll();
    const reason = `the AWS secret ${NAME} is scheduled for deletion (on ${DELETION.toISOString()})`;
    expect(gone).toEqual([{ version: undefined, reason }]);
    const refused = await source.read(ref).catch((err: Error) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain(reason);
    expect(degraded.filter(Boolean)).toEqual([]);
    expect(logs.entries.filter((e) => e.msg.startsWith("an AWS secret was deleted in AWS Secrets Manager"))).toHaveLength(1);
    expect(logs.text).not.toContain(VALUE);
    await source.close();
  });

  it("deleted for good (ResourceNotFoundException): the same", async () => {
    const { source, gone, poll } = await watched();
    mode.now = "gone";
    await poll();
    expect(gone).toEqual([{ version: undefined, reason: `the AWS secret ${NAME} no longer exists` }]);
    await source.close();
  });

  it("refused (AccessDeniedException): the last known value is served on, the source degraded", async () => {
    const { source, ref, gone, poll, degraded, logs, version } = await watched();
    mode.now = "denied";
    await poll();
    expect(gone).toEqual([]);
    expect(await source.read(ref)).toEqual({ value: VALUE, version });
    expect(degraded.at(-1)).toBeTruthy();
    const warning = logs.entries.find((e) => e.msg === "AWS Secrets Manager cannot be read: serving the last known secrets");
    expect(warning?.error).toMatch(/AccessDeniedException/);
    await source.close();
  });
});
