import type { KMSClient } from "@aws-sdk/client-kms";
import { awsClientSettings, awsProblem, resolvedCredentials, withinAwsDeadline, type AwsSettings } from "./aws-client-settings.js";
import { KekError, type KeyEncryptionKey, type WrappedKey } from "./kek.js";

type KmsSdk = typeof import("@aws-sdk/client-kms");

/**
 * AWS KMS as the key-encryption key: data keys are wrapped with Encrypt under
 * the configured key, unwrapped with Decrypt and rewrapped with ReEncrypt, so
 * the KEK never leaves KMS. The secret's name and version travel as the
 * encryption context: a wrapped key copied onto another row does not decrypt.
 * Rewrapping moves data keys to the configured key (after pointing
 * `SWITCHBOARD_KMS_KEY_ID` at a new key) or to its newest backing key (after
 * a KMS key rotation, with `rewrap --all`).
 */
export class KmsKek implements KeyEncryptionKey {
  readonly kind = "aws-kms";
  /** The SDK and its client, loaded on first use (only gateways whose KEK is in KMS load it). */
  private sdk: Promise<{ aws: KmsSdk; client: KMSClient }> | undefined;
  private readonly settings: AwsSettings;
  private readonly env: NodeJS.ProcessEnv;
  private arn: Promise<string> | undefined;

  constructor(
    private readonly keyId: string,
    settings: AwsSettings,
  ) {
    this.settings = settings;
    this.env = settings.env;
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    const answer = await this.send("Encrypt", ({ aws, client }, abortSignal) =>
      client.send(new aws.EncryptCommand({ KeyId: this.keyId, Plaintext: dataKey, EncryptionContext: { secret: context } }), { abortSignal }),
    );
    return this.wrapped(answer.CiphertextBlob, answer.KeyId);
  }

  async unwrap(wrapped: WrappedKey, context: string): Promise<Buffer> {
    const answer = await this.send("Decrypt", ({ aws, client }, abortSignal) =>
      client.send(new aws.DecryptCommand({ CiphertextBlob: Buffer.from(wrapped.blob, "base64"), EncryptionContext: { secret: context } }), { abortSignal }),
    );
    if (!answer.Plaintext) throw new KekError(`AWS KMS Decrypt gave no plaintext`);
    return Buffer.from(answer.Plaintext);
  }

  async rewrap(wrapped: WrappedKey, context: string): Promise<WrappedKey> {
    const answer = await this.send("ReEncrypt", ({ aws, client }, abortSignal) =>
      client.send(
        new aws.ReEncryptCommand({
          CiphertextBlob: Buffer.from(wrapped.blob, "base64"),
          SourceEncryptionContext: { secret: context },
          DestinationKeyId: this.keyId,
          DestinationEncryptionContext: { secret: context },
        }),
        { abortSignal },
      ),
    );
    return this.wrapped(answer.CiphertextBlob, answer.KeyId);
  }

  /** The configured key's ARN (an alias resolves to the key behind it). */
  current(): Promise<string> {
    this.arn ??= this.send("DescribeKey", ({ aws, client }, abortSignal) => client.send(new aws.DescribeKeyCommand({ KeyId: this.keyId }), { abortSignal })).then(
      (answer) => `aws-kms:${answer.KeyMetadata?.Arn ?? this.keyId}`,
      (err: unknown) => {
        this.arn = undefined;
        throw err;
      },
    );
    return this.arn;
  }

  close(): void {
    void this.sdk?.then(({ client }) => client.destroy());
  }

  private aws(): Promise<{ aws: KmsSdk; client: KMSClient }> {
    this.sdk ??= import("@aws-sdk/client-kms").then((aws) => ({ aws, client: new aws.KMSClient(awsClientSettings(this.settings)) }));
    return this.sdk;
  }

  private wrapped(blob: Uint8Array | undefined, keyArn: string | undefined): WrappedKey {
    if (!blob) throw new KekError("AWS KMS answered without a ciphertext");
    return { kek: `aws-kms:${keyArn ?? this.keyId}`, blob: Buffer.from(blob).toString("base64") };
  }

  /** One KMS call, within its deadline (the SDK is loaded before it starts). */
  private async send<T>(operation: string, call: (sdk: { aws: KmsSdk; client: KMSClient }, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    let sdk: { aws: KmsSdk; client: KMSClient } | undefined;
    try {
      sdk = await this.aws();
      const loaded = sdk;
      return await withinAwsDeadline(this.settings.timeoutMs, (abortSignal) => call(loaded, abortSignal));
    } catch (err) {
      const problem = awsProblem(err, `KMS ${operation} with ${this.keyId}`, this.env, await resolvedCredentials(sdk?.client, err));
      throw new KekError(problem.message, problem.unreachable);
    }
  }
}
