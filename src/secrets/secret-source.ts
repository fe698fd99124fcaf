import { pino } from "pino";
import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { headerProblem, QUOTED_VALUE, withoutFinalNewline, wrappedInQuotes } from "./header-safe-secret.js";
import type { SecretGone } from "./secret-gone.js";
import { checkReferenceName } from "./reference-names.js";
import { MAX_VALUE_BYTES } from "./secret-value-limit.js";

/** A secret's value, with the version it was read at where the source keeps versions (Vault KV v2, AWS, the database store). */
export interface SecretVersion {
  value: string;
  version?: number;
}

/** Resolves secret references of one scheme ("env", "file", "vault", "aws-sm", "db"). */
export interface SecretSource {
  readonly scheme: SecretRef["scheme"];
  resolve(ref: SecretRef): Promise<string>;
  /** The value with its version; sources without versions may leave this out. */
  read?(ref: SecretRef): Promise<SecretVersion>;
  /** One earlier version, for sources that keep versions. */
  readVersion?(ref: SecretRef, version: number): Promise<SecretVersion>;
  /**
   * Sources whose secrets change while the gateway runs (Vault, AWS, the database store) call
   * `onChange` with each newer version they see, and `onGone` (Vault, AWS) when they answer that
   * the version in use was deleted there; `inUse` names the versions still used, which a source
   * able to read a version by number (Vault) checks on each poll too. Returns the unsubscribe.
   */
  watch?(ref: SecretRef, onChange: (secret: SecretVersion) => void, onGone?: (gone: SecretGone) => void, inUse?: () => Iterable<number>): () => void;
  /** Stops background work (token renewal, re-reads). */
  close?(): Promise<void>;
}

/** `env:NAME`: the secret is the value of an environment variable. */
export class EnvSecretSource implements SecretSource {
  readonly scheme = "env" as const;
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async resolve(ref: SecretRef): Promise<string> {
    const value = this.env[ref.path];
    if (value === undefined || value === "") throw new ConfigError("environment", ref.path, `is not set (referenced as "${ref.raw}")`);
    return value;
  }
}

/**
 * Dispatches each reference to the source for its scheme, and hands out only
 * values that can be sent as a vendor key: one line break at the end (what
 * `kubectl create secret --from-file` or `echo` leaves) is dropped with a
 * warning; any other control character, a character beyond Latin-1, spaces at
 * either end, a value wrapped in quotes or an empty value are refused, naming
 * the reference and never the value (a ConfigError: the start stops, StageKey answers FailedPrecondition,
 * a new version is logged and not staged).
 */
export class SecretResolver {
  private readonly sources = new Map<string, SecretSource>();
  private readonly logger: Logger;
  /** References already warned about (a watched secret is read again and again). */
  private readonly warned = new Set<string>();

  constructor(sources: SecretSource[], logger?: Logger) {
    for (const source of sources) this.sources.set(source.scheme, source);
    this.logger = (logger ?? pino({ level: "silent" })).child({ component: "secrets" });
  }

  async resolve(ref: SecretRef): Promise<string> {
    return this.usable(ref, await this.source(ref).resolve(ref));
  }

  /** The value and, for versioned sources, its version. */
  async read(ref: SecretRef): Promise<SecretVersion> {
    const source = this.source(ref);
    const secret = source.read ? await source.read(ref) : { value: await source.resolve(ref) };
    return { ...secret, value: this.usable(ref, secret.value) };
  }

  /** An earlier version of `ref`; fails for sources that keep no versions. */
  async readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const source = this.source(ref);
    if (!source.readVersion) throw new ConfigError("config", ref.raw, `"${ref.scheme}:" secrets have no versions`);
    const secret = await source.readVersion(ref, version);
    return { ...secret, value: this.usable(ref, secret.value) };
  }

  /**
   * Subscribes to newer versions of `ref`, and to the news that a version in use (`inUse`) was
   * deleted at its source; undefined when its source never changes while running. A version that cannot be
   * used throws to the source, which logs it.
   */
  watch(
    ref: SecretRef,
    onChange: (secret: SecretVersion) => void,
    onGone?: (gone: SecretGone) => void,
    inUse?: () => Iterable<number>,
  ): (() => void) | undefined {
    return this.source(ref).watch?.(ref, (secret) => onChange({ ...secret, value: this.usable(ref, secret.value) }), onGone, inUse);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((source) => source.close?.()));
  }

  /** The value as it can go in a header, or a ConfigError naming the reference (never the value). */
  private usable(ref: SecretRef, raw: string): string {
    const { value, stripped } = withoutFinalNewline(raw);
    if (Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) {
      throw new ConfigError(ref.raw, "", `the secret's value is longer than ${MAX_VALUE_BYTES} bytes, which no vendor key is; store the key alone`);
    }
    const problem = value === "" ? "is empty" : headerProblem(value);
    if (problem) {
      throw new ConfigError(ref.raw, "", `the secret's value ${problem}, so it cannot be sent as a vendor key (an HTTP header); store the key alone`);
    }
    if (wrappedInQuotes(value)) {
      throw new ConfigError(ref.raw, "", `the secret's value ${QUOTED_VALUE}`);
    }
    if (stripped && !this.warned.has(ref.raw)) {
      this.warned.add(ref.raw);
      this.logger.warn({ ref: ref.raw }, "the secret's value ends with a line break (as `kubectl create secret --from-file` leaves it): using it without");
    }
    return value;
  }

  private source(ref: SecretRef): SecretSource {
    checkReferenceName(ref);
    const source = this.sources.get(ref.scheme);
    if (!source) throw new ConfigError("config", ref.raw, `no secret source for "${ref.scheme}:" references is configured`);
    return source;
  }
}
