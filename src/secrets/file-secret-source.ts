import type { SecretRef } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { EncryptedFileStore } from "./encrypted-file-store.js";
import type { SecretSource } from "./secret-source.js";

/**
 * `file:NAME`: a secret from the encrypted local store. The store is opened
 * on first use (so a gateway without `file:` references needs no data key)
 * and re-read when the file changes, so `switchboard secrets set` followed by
 * a StageKey call needs no restart.
 */
export class FileSecretSource implements SecretSource {
  readonly scheme = "file" as const;
  private store: EncryptedFileStore | undefined;

  constructor(private readonly open: () => EncryptedFileStore) {}

  async resolve(ref: SecretRef): Promise<string> {
    this.store ??= this.open();
    const secret = this.store.get(ref.path);
    if (!secret) {
      throw new ConfigError(this.store.path, ref.path, `no such secret (referenced as "${ref.raw}"); add it with \`switchboard secrets set ${ref.path}\``);
    }
    return secret.value;
  }
}
