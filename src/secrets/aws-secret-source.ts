import { DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient, type SecretVersionsListEntry } from "@aws-sdk/client-secrets-manager";
import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { awsClientSettings, awsProblem, type AwsProblem, type AwsSettings } from "./aws-client-settings.js";
import type { AwsVersionNumbers } from "./aws-version-numbers.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretSource, SecretVersion } from "./secret-source.js";
import type { DegradedReporter } from "./vault-client.js";

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

interface Watcher {
  field: string | undefined;
  raw: string;
  onChange: (secret: SecretVersion) => void;
}

interface Entry {
  secretId: string;
  arn: string | undefined;
  /** The newest version labelled AWSCURRENT or AWSPENDING, as last read. */
  latest: Read | undefined;
  fetchedAt: number;
  reading: Promise<void> | undefined;
  problem: string | undefined;
  watchers: Set<Watcher>;
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

/**
 * `aws-sm:NAME#FIELD`: secrets from AWS Secrets Manager. The version served
 * is the newest of those labelled AWSCURRENT or AWSPENDING, so AWS's own
 * rotation maps onto the canary: a rotation that writes an AWSPENDING
 * version (or a new AWSCURRENT) has it staged on the canary share, promoted
 * when the vendor accepts it and rolled back when not, and the verdict is
 * kept like a Vault version's. Versions are numbered in the order the fleet
 * first sees them (AwsVersionNumbers). Watched secrets are described every
 * `refreshMs` (DescribeSecret, and ListSecretVersionIds when a version is
 * new); when AWS cannot be reached the last known secrets keep being served
 * and the source reports itself degraded; when AWS throttles, the SDK backs
 * off and retries, and polling slows down: no call ever waits on AWS.
 */
export class AwsSecretSource implements SecretSource {
  readonly scheme = "aws-sm" as const;
  private readonly client: SecretsManagerClient;
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private degraded = false;

  constructor(private readonly options: AwsSecretSourceOptions) {
    this.client = new SecretsManagerClient(awsClientSettings(options));
    this.logger = options.logger.child({ component: "aws-sm" });
    this.now = options.now ?? Date.now;
  }

  async resolve(ref: SecretRef): Promise<string> {
    return (await this.read(ref)).value;
  }

  async read(ref: SecretRef): Promise<SecretVersion> {
    const target = parseAwsRef(ref);
    const entry = this.entry(target.secretId);
    if (!entry.latest || this.now() - entry.fetchedAt >= this.options.refreshMs) {
      try {
        await this.fetch(entry);
      } catch (err) {
        // With a known version, a failed re-read is no reason to fail: serve what we have.
        if (!entry.latest) throw new ConfigError("aws-sm", ref.raw, (err as Error).message);
      }
    }
    return valueOf(entry.latest!, target, ref);
  }

  /** A version by its number, read straight from AWS. */
  async readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const target = parseAwsRef(ref);
    const entry = this.entry(target.secretId);
    try {
      const arn = entry.arn ?? (await this.describe(entry)).arn;
      const versionId = await this.options.numbers.versionId(arn, version);
      if (!versionId) throw new Error(`version ${version} of ${target.secretId} is not known to this gateway's store`);
      return valueOf(await this.getValue(entry, versionId, version), target, ref);
    } catch (err) {
      throw new ConfigError("aws-sm", ref.raw, (err as Error).message);
    }
  }

  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void): () => void {
    const target = parseAwsRef(ref);
    const entry = this.entry(target.secretId);
    const watcher: Watcher = { field: target.field, raw: ref.raw, onChange };
    entry.watchers.add(watcher);
    this.timer ??= setInterval(() => void this.refreshWatched(), this.options.refreshMs).unref();
    return () => entry.watchers.delete(watcher);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.client.destroy();
  }

  /** Describes every watched secret whose copy is due (and whose throttling wait is over). */
  async refreshWatched(): Promise<void> {
    const now = this.now();
    const due = [...this.entries.values()].filter((entry) => entry.watchers.size > 0 && now >= entry.quietUntil && now - entry.fetchedAt >= this.options.refreshMs * 0.9);
    await Promise.all(due.map((entry) => this.fetch(entry).catch(() => undefined)));
  }

  private entry(secretId: string): Entry {
    let entry = this.entries.get(secretId);
    if (!entry) {
      entry = { secretId, arn: undefined, latest: undefined, fetchedAt: 0, reading: undefined, problem: undefined, watchers: new Set(), quietUntil: 0, quietMs: 0 };
      this.entries.set(secretId, entry);
    }
    return entry;
  }

  /** One look at a secret at a time: its labels, then the newest labelled version's value when it changed. */
  private fetch(entry: Entry): Promise<void> {
    entry.reading ??= (async () => {
      try {
        const { arn, stages } = await this.describe(entry);
        const labelled = [...stages].filter(([, labels]) => labels.includes(CURRENT) || labels.includes(PENDING)).map(([id]) => id);
        if (labelled.length === 0) throw new Error(`${entry.secretId} has no version labelled ${CURRENT}`);
        let numbers = await this.options.numbers.numbers(arn, []);
        if (labelled.some((id) => !numbers.has(id))) numbers = await this.options.numbers.numbers(arn, await this.versionsOldestFirst(entry));
        const newest = labelled.filter((id) => numbers.has(id)).sort((a, b) => numbers.get(b)! - numbers.get(a)!)[0];
        if (!newest) throw new Error(`the labelled versions of ${entry.secretId} are not listed by ListSecretVersionIds`);
        const previous = entry.latest;
        if (previous?.versionId !== newest) entry.latest = await this.getValue(entry, newest, numbers.get(newest)!);
        entry.fetchedAt = this.now();
        entry.quietMs = 0;
        this.setProblem(entry, undefined);
        if (previous && entry.latest!.number > previous.number) this.announce(entry, entry.latest!, previous);
      } catch (err) {
        const problem = err instanceof AwsCallError ? err.problem : undefined;
        if (problem?.throttled) this.quieten(entry);
        this.setProblem(entry, (err as Error).message);
        throw err;
      } finally {
        entry.reading = undefined;
      }
    })();
    return entry.reading;
  }

  private async describe(entry: Entry): Promise<{ arn: string; stages: Map<string, string[]> }> {
    const answer = await this.call(`DescribeSecret ${entry.secretId}`, () => this.client.send(new DescribeSecretCommand({ SecretId: entry.secretId })));
    const arn = answer.ARN ?? entry.secretId;
    entry.arn = arn;
    return { arn, stages: new Map(Object.entries(answer.VersionIdsToStages ?? {})) };
  }

  /** Every version id, oldest first (ties: AWSPREVIOUS, AWSCURRENT, AWSPENDING, others), for numbering. */
  private async versionsOldestFirst(entry: Entry): Promise<string[]> {
    const versions: SecretVersionsListEntry[] = [];
    let token: string | undefined;
    do {
      const answer = await this.call(`ListSecretVersionIds ${entry.secretId}`, () =>
        this.client.send(new ListSecretVersionIdsCommand({ SecretId: entry.secretId, IncludeDeprecated: true, NextToken: token, MaxResults: 100 })),
      );
      versions.push(...(answer.Versions ?? []));
      token = answer.NextToken ?? undefined;
    } while (token);
    const rank = (labels: string[] | undefined) => (labels?.includes(PENDING) ? 3 : labels?.includes(CURRENT) ? 2 : labels?.includes("AWSPREVIOUS") ? 1 : 0);
    versions.sort((a, b) => (a.CreatedDate?.getTime() ?? 0) - (b.CreatedDate?.getTime() ?? 0) || rank(a.VersionStages) - rank(b.VersionStages));
    return versions.map((version) => version.VersionId!).filter(Boolean);
  }

  private async getValue(entry: Entry, versionId: string, number: number): Promise<Read> {
    const answer = await this.call(`GetSecretValue ${entry.secretId} v${number}`, () => this.client.send(new GetSecretValueCommand({ SecretId: entry.secretId, VersionId: versionId })));
    if (typeof answer.SecretString !== "string") throw new Error(`version ${number} of ${entry.secretId} is a binary secret: store the key as a string (SecretString)`);
    return { number, versionId, text: answer.SecretString };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw new AwsCallError(awsProblem(err, operation, this.options.env));
    }
  }

  /** Throttled: wait longer before the next poll of this secret (up to 16 periods), then back to the period once a read succeeds. */
  private quieten(entry: Entry): void {
    entry.quietMs = Math.min(Math.max(entry.quietMs * 2, this.options.refreshMs), this.options.refreshMs * MAX_QUIET_FACTOR);
    entry.quietUntil = this.now() + entry.quietMs;
    this.logger.warn({ secret: entry.secretId, nextInMs: entry.quietMs }, "AWS throttles the gateway's reads: polling this secret less often");
  }

  private announce(entry: Entry, latest: Read, previous: Read): void {
    this.logger.info({ secret: entry.secretId, version: latest.number, previousVersion: previous.number }, "new version of an AWS secret");
    for (const watcher of entry.watchers) {
      let value: string;
      try {
        value = valueOf(latest, { secretId: entry.secretId, field: watcher.field }, { raw: watcher.raw }).value;
      } catch (err) {
        this.logger.error({ ref: watcher.raw, version: latest.number, error: (err as Error).message }, "the new version has no usable value; keeping the current key");
        continue;
      }
      try {
        watcher.onChange({ value, version: latest.number });
      } catch (err) {
        this.logger.error({ ref: watcher.raw, error: (err as Error).message }, "could not stage a new version of an AWS secret");
      }
    }
  }

  /** The source is degraded while any read fails; health and the gauge say so. */
  private setProblem(entry: Entry, problem: string | undefined): void {
    entry.problem = problem;
    // Only secrets the gateway serves count: a reference that never read (a mistyped StageKey) degrades nothing.
    const first = [...this.entries.values()].find((e) => e.problem !== undefined && e.latest !== undefined);
    const degraded = first !== undefined;
    this.options.metrics?.sourceUp.set({ source: "aws-sm" }, degraded ? 0 : 1);
    if (degraded !== this.degraded) {
      this.degraded = degraded;
      if (degraded) this.logger.warn({ error: first.problem }, "AWS Secrets Manager cannot be read: serving the last known secrets");
      else this.logger.info("AWS Secrets Manager can be read again");
    }
    this.options.reportDegraded?.("aws-sm", first?.problem);
  }
}

/** An AWS call that failed, with what is safe to say about it. */
class AwsCallError extends Error {
  constructor(readonly problem: AwsProblem) {
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
    const fields = Object.keys(parsed).sort().join(", ") || "none";
    throw new ConfigError("aws-sm", ref.raw, `version ${read.number} of ${target.secretId} has no non-empty string field "${target.field}" (fields: ${fields})`);
  }
  return { value, version: read.number };
}
