/**
 * A data key as the database store keeps it: wrapped by a key-encryption
 * key, never in clear. `kek` names the key (and its version) that wrapped it,
 * e.g. "local:3f9a0c1e", "vault-transit:transit/switchboard:v2" or
 * "aws-kms:arn:aws:kms:eu-west-1:…:key/…"; it holds nothing secret.
 */
export interface WrappedKey {
  kek: string;
  /** The wrapped bytes as text: base64, or Transit's "vault:v2:…". */
  blob: string;
}

/**
 * The key-encryption key of envelope encryption: wraps each secret's own
 * data key, so rotating it rewraps a few bytes per secret and never touches
 * the secrets' ciphertext. `context` binds a wrapped key to its secret's name
 * and version where the backend allows (AES-GCM associated data, a KMS
 * encryption context).
 */
export interface KeyEncryptionKey {
  /** "local", "vault-transit", "aws-kms": for messages. */
  readonly kind: string;
  wrap(dataKey: Buffer, context: string): Promise<WrappedKey>;
  unwrap(wrapped: WrappedKey, context: string): Promise<Buffer>;
  /** The name of the key version new data keys are wrapped with now (asked of Vault or AWS when it can change there). */
  current(): Promise<string>;
  /**
   * The same data key wrapped with the current version. Transit (rewrap) and
   * KMS (ReEncrypt) do it inside Vault or AWS: the data key never reaches the
   * gateway; the local key unwraps and wraps in memory.
   */
  rewrap(wrapped: WrappedKey, context: string): Promise<WrappedKey>;
  /** Releases connections (the AWS client's). */
  close?(): void;
}

/** A KEK that cannot do what was asked: its message names the key and the problem, never a key. */
export class KekError extends Error {
  constructor(
    message: string,
    /** Vault or AWS could not be reached (worth retrying later), as opposed to a refusal. */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = "KekError";
  }
}
