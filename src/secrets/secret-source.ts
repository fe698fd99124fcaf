import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";

/** Resolves secret references of one scheme ("env", "file", "vault"). */
export interface SecretSource {
  readonly scheme: SecretRef["scheme"];
  resolve(ref: SecretRef): Promise<string>;
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
    const source = this.sources.get(ref.scheme);
    if (!source) throw new ConfigError("config", ref.raw, `no secret source for "${ref.scheme}:" references is configured`);
    return source.resolve(ref);
  }
}
