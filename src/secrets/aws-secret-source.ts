import type { SecretsManagerClient, SecretVersionsListEntry } from "@aws-sdk/client-secrets-manager";
import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { awsClientSettings, awsProblem, resolvedCredentials, withinAwsDeadline, type AwsProblem, type AwsSettings } from "./aws-client-settings.js";
import type { AwsVersionNumbers } from "./aws-version-numbers.js";
import { fieldNamesOf } from "./field-names.js";
import { PolledSecretCache } from "./polled-secret-cache.js";
import type { SecretGone } from "./secret-gone.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretSource, SecretVersion } from "./secret-source.js";
import type { DegradedReporter } from "./vault-client.js";

type SecretsManagerSdk = typeof import("@aws-sdk/client-secrets-manager");

/** `aws-sm:NAME#FIELD`, taken apart: the secret's name or ARN, and the JSON field (none: the whole string). */
export interface AwsRef {
  secretId: string;
  field: string | undefined;
}

export function parseAwsRef(ref: SecretRef): AwsRef {
  // Secret names: letters, digits and /_+=.@- (AWS's rule); an ARN adds colons.
  const match = /^([A-Za-z0-9/_+=.@:-]+?)(?:#([A-Za-z0-9_.-]+))?$/.exec(ref.path);
  if (!match) throw new ConfigError("config", ref.raw, 'must look like "aws-sm:NAME" or "aws-sm:NAME#FIELD", e.g. "aws-sm:switchboard/openai#api_key"');
  return { secretId: match[1]!, field: match[2] };
}

const CURRENT = "AWSCURRENT";
const PENDING = "AWSPENDING";

/** One version of a secret as read: its number, AWS's id for it, and its SecretString. */
interface Read {
  number: number;
  versionId: string;
  text: string;
}

/** What the source keeps of a secret besides its cached version: its ARN (which its version numbers hang off) and its throttling wait. */
interface AwsSecret {
  arn: string | undefined;
  /** While AWS throttles this secret's reads: no poll before this, and the wait doubles each time. */
  quietUntil: number;
  quietMs: number;
}

export interface AwsSecretSourceOptions extends AwsSettings {
  /** How long a read is served from memory, and how often watched secrets are described again. */
  refreshMs: number;
  numbers: AwsVersionNumbers;
  logger: Logger;
  metrics?: SecretMetrics;
  reportDegraded?: DegradedReporter;
  now?: () => number;
}

const MAX_QUIET_FACTOR = 16;
/** ListSecretVersionIds pages read to number a secret's versions (100 each): AWS keeps about 100 versions of a secret. */
const MAX_LISTING_PAGES = 10;

/**
 * `aws-sm:NAME#FIELD`: secrets from AWS Secrets Manager. The version served
 * is the newest of those labelled AWSCURRENT or AWSPENDING, so AWS's own
 * rotation maps onto the canary: a rotation that writes an AWSPENDING
 * version (or a new AWSCURRENT) has it staged on the canary share, promoted
 * when the vendor accepts it and rolled back when not, and the verdict is
 * kept like a Vault version's. When the label is taken off the newer version
 * (a cancelled rotation), the older labelled one is handed to the watchers,
 * who go back to it as a restarted gateway would. Versions are numbered in the order the fleet
 * first sees them (AwsVersionNumbers). Watched secrets are described every
 * `refreshMs` (DescribeSecret, and ListSecretVersionIds when a version is
 * new); when AWS cannot be reached (or refuses the gateway) the last known
 * secrets keep being served and the source reports itself degraded; when AWS
 * throttles, the SDK backs off and retries, and polling slows down: no call
 * ever waits on AWS. A secret deleted in AWS (scheduled for deletion, or gone:
 * ResourceNotFoundException) is not served again, and its watchers are told.
 */
export class AwsSecretSource implements SecretSource {
  readonly scheme = "aws-sm" as const;
  /** The SDK and its client, loaded on first use: a gateway with no aws-sm: secret never loads the SDK (memory, start time). */
  private sdk: Promise<{ aws: SecretsManagerSdk; client: SecretsManagerClient }> | undefined;
  /** The newest labelled version of each secret, by name or ARN. */
  private readonly cache: PolledSecretCache<AwsRef, Read>;
  private readonly secrets = new Map<string, AwsSecret>();
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: AwsSecretSourceOptions) {
    this.logger = options.logger.child({ component: "aws-sm" });
    this.now = options.now ?? Date.now;
    this.cache = new PolledSecretCache({
      source: "aws-sm",
      backend: {
        parse: parseAwsRef,
        keyOf: (target) => target.secretId,
        fetchLatest: (target, cached) => this.fetchLatest(target.secretId, cached),
        versionOf: (read) => read.number,
        // Another labelled version, newer or not: when the label is taken off the newer one (a cancelled or rolled-back rotation),
        // the watchers go back to the older one, as a gateway started now would (provider-pools.ts, source-went-back.ts).
        supersedes: (read, previous) => read.versionId !== previous.versionId,
        valueOf,
        problemOf: (err) => (err as Error).message,
        // A deleted secret takes every version with it (AWS deletes no single version).
        goneOf: async (err) => (err instanceof AwsCallError && err.gone !== undefined ? { version: undefined, reason: err.gone } : undefined),
        mayPoll: (secretId, now) => now >= (this.secrets.get(secretId)?.quietUntil ?? 0),
      },
      wording: {
        service: "AWS Secrets Manager",
        aSecret: "an AWS secret",
        keyField: "secret",
        where: "in AWS Secrets Manager",
        unusable: (err) => ({ msg: "the new version has no usable value; keeping the current key", error: err.message }),
      },
      refreshMs: options.refreshMs,
      // Only secrets the gateway serves count: a reference that never read (a mistyped StageKey) degrades nothing.
      unreadSecretsDegrade: false,
      logger: this.logger,
      metrics: options.metrics,
      reportDegraded: options.reportDegraded,
      now: this.now,
    });
  }

  async resolve(ref: SecretRef): Promise<string> {
    return (await this.read(ref)).value;
  }

  read(ref: SecretRef): Promise<SecretVersion> {
    return this.cache.read(ref);
  }

  /** A version by its number, read straight from AWS. */
  async readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const target = parseAwsRef(ref);
    try {
      const arn = this.secret(target.secretId).arn ?? (await this.describe(target.secretId)).arn;
      const versionId = await this.options.numbers.versionId(arn, version);
      if (!versionId) throw new Error(`version ${version} of ${target.secretId} is not known to this gateway's store`);
      return valueOf(await this.getValue(target.secretId, versionId, version), target, ref);
    } catch (err) {
      throw new ConfigError("aws-sm", ref.raw, (err as Error).message);
    }
  }

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void): () => void {
    return this.cache.watch(ref, onChange, onGone);
  }

  async close(): Promise<void> {
    this.cache.close();
    void this.sdk?.then(({ client }) => client.destroy());
  }

  /** Describes every watched secret whose copy is due (and whose throttling wait is over). */
  refreshWatched(): Promise<void> {
    return this.cache.refreshWatched();
  }

  private secret(secretId: string): AwsSecret {
    let secret = this.secrets.get(secretId);
    if (!secret) {
      secret = { arn: undefined, quietUntil: 0, quietMs: 0 };
      this.secrets.set(secretId, secret);
    }
    return secret;
  }

  /** A secret's labels, then the newest labelled version's value when it is not the cached one. */
  private async fetchLatest(secretId: string, cached: Read | undefined): Promise<Read> {
    const secret = this.secret(secretId);
    try {
      const { arn, stages } = await this.describe(secretId);
      const labelled = [...stages].filter(([, labels]) => labels.includes(CURRENT) || labels.includes(PENDING)).map(([id]) => id);
      if (labelled.length === 0) throw new Error(`${secretId} has no version labelled ${CURRENT}`);
      let numbers = await this.options.numbers.numbers(arn, []);
      if (labelled.some((id) => !numbers.has(id))) numbers = await this.options.numbers.numbers(arn, await this.versionsOldestFirst(secretId));
      const newest = labelled.filter((id) => numbers.has(id)).sort((a, b) => numbers.get(b)! - numbers.get(a)!)[0];
      if (!newest) throw new Error(`the labelled versions of ${secretId} are not listed by ListSecretVersionIds`);
      const latest = cached?.versionId === newest ? cached : await this.getValue(secretId, newest, numbers.get(newest)!);
      if (cached && latest.number < cached.number) {
        this.logger.warn(
          { secret: secretId, version: latest.number, previousVersion: cached.number },
          `version ${cached.number} is no longer labelled ${CURRENT} or ${PENDING}: the newest labelled version is ${latest.number} again, and the gateway goes back to it`,
        );
      }
      secret.quietMs = 0;
      return latest;
    } catch (err) {
      if (err instanceof AwsCallError && err.problem.throttled) this.quieten(secretId, secret);
      throw err;
    }
  }

  private async describe(secretId: string): Promise<{ arn: string; stages: Map<string, string[]> }> {
    const operation = `DescribeSecret ${secretId}`;
    const answer = await this.call(operation, ({ aws, client }, abortSignal) => client.send(new aws.DescribeSecretCommand({ SecretId: secretId }), { abortSignal }), `the AWS secret ${secretId} no longer exists`);
    if (answer.DeletedDate) {
      // Scheduled for deletion: AWS refuses to read it until an operator restores it.
      const gone = `the AWS secret ${secretId} is scheduled for deletion (on ${answer.DeletedDate.toISOString()})`;
      throw new AwsCallError({ message: `AWS ${operation} failed: ${gone}`, unreachable: false, throttled: false }, gone);
    }
    const arn = answer.ARN ?? secretId;
    this.secret(secretId).arn = arn;
    return { arn, stages: new Map(Object.entries(answer.VersionIdsToStages ?? {})) };
  }

  /** Every version id, oldest first (ties: AWSPREVIOUS, AWSCURRENT, AWSPENDING, others), for numbering; at most MAX_LISTING_PAGES pages. */
  private async versionsOldestFirst(secretId: string): Promise<string[]> {
    const operation = `ListSecretVersionIds ${secretId}`;
    const versions: SecretVersionsListEntry[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      if (pages++ === MAX_LISTING_PAGES) {
        // An endpoint that always hands out another page would keep the read (and its memory) growing for good.
        const message = `AWS ${operation} failed: more than ${MAX_LISTING_PAGES} pages of versions, the most the gateway reads`;
        throw new AwsCallError({ message, unreachable: false, throttled: false });
      }
      const answer = await this.call(operation, ({ aws, client }, abortSignal) =>
        client.send(new aws.ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, NextToken: token, MaxResults: 100 }), { abortSignal }),
      );
      versions.push(...(answer.Versions ?? []));
      token = answer.NextToken ?? undefined;
    } while (token);
    const rank = (labels: string[] | undefined) => (labels?.includes(PENDING) ? 3 : labels?.includes(CURRENT) ? 2 : labels?.includes("AWSPREVIOUS") ? 1 : 0);
    versions.sort((a, b) => (a.CreatedDate?.getTime() ?? 0) - (b.CreatedDate?.getTime() ?? 0) || rank(a.VersionStages) - rank(b.VersionStages));
    return versions.map((version) => version.VersionId!).filter(Boolean);
  }

  private async getValue(secretId: string, versionId: string, number: number): Promise<Read> {
    const answer = await this.call(`GetSecretValue ${secretId} v${number}`, ({ aws, client }, abortSignal) =>
      client.send(new aws.GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }), { abortSignal }),
    );
    if (typeof answer.SecretString !== "string") throw new Error(`version ${number} of ${secretId} is a binary secret: store the key as a string (SecretString)`);
    return { number, versionId, text: answer.SecretString };
  }

  private aws(): Promise<{ aws: SecretsManagerSdk; client: SecretsManagerClient }> {
    this.sdk ??= import("@aws-sdk/client-secrets-manager").then((aws) => ({ aws, client: new aws.SecretsManagerClient(awsClientSettings(this.options)) }));
    return this.sdk;
  }

  /**
   * One AWS call, within its deadline (the SDK is loaded before it starts);
   * `goneIfNotFound` says what a ResourceNotFoundException means, for calls
   * that name the secret alone.
   */
  private async call<T>(operation: string, send: (sdk: { aws: SecretsManagerSdk; client: SecretsManagerClient }, abortSignal: AbortSignal) => Promise<T>, goneIfNotFound?: string): Promise<T> {
    let sdk: { aws: SecretsManagerSdk; client: SecretsManagerClient } | undefined;
    try {
      sdk = await this.aws();
      const loaded = sdk;
      return await withinAwsDeadline(this.options.timeoutMs, (abortSignal) => send(loaded, abortSignal));
    } catch (err) {
      const notFound = (err as { name?: unknown } | undefined)?.name === "ResourceNotFoundException";
      const resolved = await resolvedCredentials(sdk?.client, err);
      throw new AwsCallError(awsProblem(err, operation, this.options.env, resolved), notFound ? goneIfNotFound : undefined);
    }
  }

  /** Throttled: wait longer before the next poll of this secret (up to 16 periods), then back to the period once a read succeeds. */
  private quieten(secretId: string, secret: AwsSecret): void {
    secret.quietMs = Math.min(Math.max(secret.quietMs * 2, this.options.refreshMs), this.options.refreshMs * MAX_QUIET_FACTOR);
    secret.quietUntil = this.now() + secret.quietMs;
    this.logger.warn({ secret: secretId, nextInMs: secret.quietMs }, "AWS throttles the gateway's reads: polling this secret less often");
  }
}

/** An AWS call that failed, with what is safe to say about it; `gone` when AWS answered that the secret is deleted (why). */
class AwsCallError extends Error {
  constructor(
    readonly problem: AwsProblem,
    readonly gone?: string,
  ) {
    super(problem.message);
    this.name = "AwsCallError";
  }
}

/** The referenced value of a version: the whole SecretString, or one field of its JSON. Names fields, never values. */
function valueOf(read: Read, target: AwsRef, ref: Pick<SecretRef, "raw">): SecretVersion {
  if (target.field === undefined) {
    if (read.text === "") throw new ConfigError("aws-sm", ref.raw, `version ${read.number} of ${target.secretId} is empty`);
    return { value: read.text, version: read.number };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("aws-sm", ref.raw, `version ${read.number} of ${target.secretId} is not a JSON object, so it has no field "${target.field}" (refer to the whole string without "#")`);
  }
  const value = (parsed as Record<string, unknown>)[target.field];
  if (typeof value !== "string" || value === "") {
    const fields = fieldNamesOf(parsed);
    throw new ConfigError("aws-sm", ref.raw, `version ${read.number} of ${target.secretId} has no non-empty string field "${target.field}" (fields: ${fields})`);
  }
  return { value, version: read.number };
}
