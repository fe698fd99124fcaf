import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { StoredSecretSchema, StoredSecretVersionSchema, type StoredSecret, type StoredSecretVersion } from "../../../gen/ts/switchboard/v1/admin_secrets_pb.js";
import type { StoredSecretSummary, StoredVersion } from "../../secrets/db-secret-store.js";
import { createResourceName } from "../aip/resource-name.js";

/** A secret in the database store: `secrets/{secret}` (the `db:{secret}` of a key's configuration). */
export const STORED_SECRET_NAME = createResourceName("secrets/{secret}", {
  kind: "stored secret",
  example: "secrets/openai-prod",
  ids: { secret: /[A-Za-z0-9][A-Za-z0-9._\/-]{0,127}/ },
});

/** A version as an operator sees it: number, fingerprint, wrapping key; never the value. */
export function toStoredVersion(version: StoredVersion): StoredSecretVersion {
  return create(StoredSecretVersionSchema, {
    name: `${STORED_SECRET_NAME.format({ secret: version.name })}/versions/${version.version}`,
    version: BigInt(version.version),
    fingerprint: version.fingerprint,
    keyEncryptionKey: version.kek,
    createTime: timestampFromMs(version.createMs),
    creator: version.createdBy,
  });
}

export function toStoredSecret(summary: StoredSecretSummary): StoredSecret {
  return create(StoredSecretSchema, {
    name: STORED_SECRET_NAME.format({ secret: summary.name }),
    latestVersion: toStoredVersion(summary.latest),
    versionCount: summary.versions,
    createTime: timestampFromMs(summary.createMs),
  });
}
