import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";

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
   * `onChange` with each newer version they see. Returns the unsubscribe.
   */
  watch?(ref: SecretRef, onChange: (secret: SecretVersion) => void): () => void;
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

/** Dispatches each reference to the source for its scheme. */
export class SecretResolver {
  private readonly sources = new Map<string, SecretSource>();

  constructor(sources: SecretSource[]) {
    for (const source of sources) this.sources.set(source.scheme, source);
  }

  resolve(ref: SecretRef): Promise<string> {
    return this.source(ref).resolve(ref);
  }

  /** The value and, for versioned sources, its version. */
  async read(ref: SecretRef): Promise<SecretVersion> {
    const source = this.source(ref);
    return source.read ? source.read(ref) : { value: await source.resolve(ref) };
  }

  /** An earlier version of `ref`; fails for sources that keep no versions. */
  readVersion(ref: SecretRef, version: number): Promise<SecretVersion> {
    const source = this.source(ref);
    if (!source.readVersion) throw new ConfigError("config", ref.raw, `"${ref.scheme}:" secrets have no versions`);
    return source.readVersion(ref, version);
  }

  /** Subscribes to newer versions of `ref`; undefined when its source never changes while running. */
  watch(ref: SecretRef, onChange: (secret: SecretVersion) => void): (() => void) | undefined {
    return this.source(ref).watch?.(ref, onChange);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((source) => source.close?.()));
  }

  private source(ref: SecretRef): SecretSource {
    const source = this.sources.get(ref.scheme);
    if (!source) throw new ConfigError("config", ref.raw, `no secret source for "${ref.scheme}:" references is configured`);
    return source;
  }
}
