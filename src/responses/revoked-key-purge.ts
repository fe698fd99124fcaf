import type { Logger } from "../observability/logger.js";
import type { StoredResponses } from "./stored-responses.js";

export interface RevokedKeyPurgeDeps {
  stored: Pick<StoredResponses, "deleteKey">;
  /** A stored gateway key by id, as it is now (when it was revoked, if it was). */
  key: (id: string) => Promise<{ revokeMs?: number } | undefined>;
  logger: Logger;
}

/**
 * A revoked key's stored responses are deleted: no one can read them any
 * more (only the key that made a response may), and a leaked key's
 * conversations should not outlive it by the TTL. Whenever a key may have
 * changed it is read again, and purged if it was revoked: at once on the
 * instance that revoked it, and on the others as they hear of the change (a
 * second purge finds nothing). Give the result to the key directory's
 * `onForget`; news that any key may have changed (undefined) names none to
 * purge, and the instance that revoked it has purged it already.
 */
export function purgeRevokedKeys({ stored, key, logger }: RevokedKeyPurgeDeps): (keyId: string | undefined) => void {
  return (keyId) => {
    if (keyId === undefined) return;
    key(keyId)
      .then(async (record) => {
        if (record?.revokeMs === undefined) return;
        const deleted = await stored.deleteKey(keyId);
        if (deleted > 0) logger.info({ keyId, deleted }, "deleted a revoked key's stored responses");
      })
      // The store unreachable: the responses stay until they expire (no one can read them meanwhile).
      .catch((err: unknown) => logger.warn({ keyId, error: (err as Error).message }, "could not delete a revoked key's stored responses"));
  };
}
