import { createResourceName } from "../aip/resource-name.js";

const KEY_ID = /[a-z][a-z0-9-]{2,62}/;
// Ids are 63 characters at most (AIP-122), as the configuration's provider and key ids are: a longer "name" is no name.
const PROVIDER_ID = /[a-z0-9][a-z0-9_-]{0,62}/;
/** A pool's credential: its key's id (configured, or StageKey's credential_id), and "@v{n}" for a version of a versioned source. */
const CREDENTIAL_ID = /[A-Za-z0-9][A-Za-z0-9._-]{0,62}(?:@v[0-9]{1,16})?/;

/** A gateway key: `keys/{key}`. */
export const KEY_NAME = createResourceName("keys/{key}", { kind: "key", ids: { key: KEY_ID } });

/** A provider: `providers/{provider}`. */
export const PROVIDER_NAME = createResourceName("providers/{provider}", { kind: "provider", example: "providers/openai", ids: { provider: PROVIDER_ID } });

/** A vendor credential in a provider's key pool: `providers/{provider}/credentials/{credential}`. */
export const CREDENTIAL_NAME = createResourceName("providers/{provider}/credentials/{credential}", {
  kind: "credential",
  example: "providers/openai/credentials/primary@v3",
  ids: { provider: PROVIDER_ID, credential: CREDENTIAL_ID },
});

const WHOLE_KEY_ID = new RegExp(`^(?:${KEY_ID.source})$`);

/** Whether `id` can be the `{key}` of a key's name (CreateKey's key_id). */
export function isKeyId(id: string): boolean {
  return WHOLE_KEY_ID.test(id);
}

/** A key pool names a credential "{provider}/{credential}" ("openai/primary@v3"). */
export function poolCredentialId(ids: { provider: string; credential: string }): string {
  return `${ids.provider}/${ids.credential}`;
}

/** The resource name of a pool's credential: "openai/primary@v3" → "providers/openai/credentials/primary@v3". */
export function credentialResourceName(provider: string, poolId: string): string {
  return CREDENTIAL_NAME.format({ provider, credential: poolId.slice(provider.length + 1) });
}
