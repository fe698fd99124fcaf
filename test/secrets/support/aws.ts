import { randomBytes } from "node:crypto";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startGateway, type TestGateway } from "../../support/gateway.js";

/**
 * What a gateway needs to reach AWS on the test's moto server: a region, the
 * endpoints and test credentials. The secret access key is random, so a
 * scan of logs and errors can look for it.
 */
export function awsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIATESTSWITCHBOARD",
    AWS_SECRET_ACCESS_KEY: `test-secret-${randomBytes(12).toString("hex")}`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_KMS: endpoint,
  };
}

/** The operator's side of AWS (moto): secrets and their versions, KMS keys. */
export class AwsAdmin {
  readonly secrets: SecretsManagerClient;
  readonly kms: KMSClient;

  constructor(readonly endpoint: string) {
    const settings = { region: "us-east-1", endpoint, credentials: { accessKeyId: "AKIAOPERATOR", secretAccessKey: "operator-secret" } };
    this.secrets = new SecretsManagerClient(settings);
    this.kms = new KMSClient(settings);
  }

  async createSecret(name: string, value: string): Promise<void> {
    await this.secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  }

  /** A new version: AWSCURRENT by default (a plain `put-secret-value`), or AWSPENDING as a rotation's createSecret step writes it. */
  async putVersion(name: string, value: string, stage: "AWSCURRENT" | "AWSPENDING" = "AWSCURRENT"): Promise<string> {
    const answer = await this.secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: value, VersionStages: [stage] }));
    return answer.VersionId!;
  }

  /** A symmetric KMS key; returns its id. */
  async createKey(description: string): Promise<string> {
    const answer = await this.kms.send(new CreateKeyCommand({ Description: description }));
    return answer.KeyMetadata!.KeyId!;
  }

  close(): void {
    this.secrets.destroy();
    this.kms.destroy();
  }
}

/**
 * A gateway whose one OpenAI key is the AWS secret `secretId` (`api_key`), polled every 200 ms, its canaries
 * taking 30% and promoted after 5 good calls: the setting the AWS rotation tests share.
 */
export function startAwsKeyGateway(env: Record<string, string>, dataDir: string, vendorUrl: string, secretId: string): Promise<TestGateway> {
  return startGateway(
    { ...env, SWITCHBOARD_DATA_DIR: dataDir },
    {
      providers: { openai: { base_url: vendorUrl, timeout_ms: 1_500, keys: [{ id: "primary", secret: `aws-sm:${secretId}#api_key`, weight: 1 }] } },
      secrets: { aws: { refresh_ms: 200 } },
      key_pool: { canary_share: 0.3, promote_after: 5 },
    },
  );
}
