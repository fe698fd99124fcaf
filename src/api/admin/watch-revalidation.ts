import { Code } from "@connectrpc/connect";
import { refused } from "../../auth/authenticator.js";
import { MASTER_KEY_ID } from "../../auth/key-directory.js";
import type { KeyRecord } from "../../auth/key-policy.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { Logger } from "../../observability/logger.js";
import type { CallFeed, WatchOptions } from "../envelope/call-feed.js";

export interface WatchRevalidationDeps {
  feed: CallFeed;
  /** A stored key by id, as it is now. */
  key: (id: string) => Promise<KeyRecord | undefined>;
  logger: Logger;
}

/**
 * A watch (AdminService.WatchCalls) is authenticated once, when it opens, and
 * may then run for days, seeing every key's calls. So whenever a watching key
 * may have changed, it is read again, and its watches end if it was revoked,
 * expired or lost its admin rights; otherwise they end at its expiry as it
 * is now (set, moved or lifted since they opened). Give the result to the
 * key directory's `onForget`.
 */
export function revalidateWatches({ feed, key, logger }: WatchRevalidationDeps): (keyId: string | undefined) => void {
  return (changed) => {
    for (const keyId of feed.watchingKeys()) {
      // The master key is the configuration's, not the store's: nothing there can change it.
      if (keyId === MASTER_KEY_ID || (changed !== undefined && changed !== keyId)) continue;
      key(keyId).then(
        (record) => {
          const error = watchRefusal(keyId, record);
          if (error) feed.endWatchesOf(keyId, error);
          // Still allowed: its watches end at the key's expiry as it is now, which may have moved since they opened.
          else if (record) feed.setExpiryOf(keyId, watchExpiry(keyId, record));
        },
        // The store unreachable: the watch goes on, and is judged at the next change.
        (err: unknown) => logger.warn({ keyId, error: (err as Error).message }, "could not read a watching key again"),
      );
    }
  };
}

/** When a key's watches end, and with what: at its expiry, if it has one. */
export function watchExpiry(keyId: string, record: Pick<KeyRecord, "expireMs">): WatchOptions["expiry"] {
  const atMs = record.expireMs;
  return atMs === undefined ? undefined : { atMs, error: refused({ keyId, why: "expired", atMs }) };
}

/** Why a key may no longer watch, or undefined if it still may. */
function watchRefusal(keyId: string, record: KeyRecord | undefined): Error | undefined {
  if (record === undefined) return gatewayError(Code.Unauthenticated, `the watching key "keys/${keyId}" no longer exists`, "UNAUTHENTICATED");
  if (record.revokeMs !== undefined) return refused({ keyId, why: "revoked", atMs: record.revokeMs });
  if (record.expireMs !== undefined && record.expireMs <= Date.now()) return refused({ keyId, why: "expired", atMs: record.expireMs });
  if (!record.admin) {
    return gatewayError(Code.PermissionDenied, `key "${keyId}" no longer has the admin scope needed to watch calls`, "ADMIN_SCOPE_REQUIRED", { key: keyId });
  }
  return undefined;
}
