import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { CallEvent } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { inWords, type ErrorInWords } from "./errors";

/** Calls kept in the page: the newest first, this many at most. */
const KEPT = 500;

export interface CallsFeed {
  calls: CallEvent[];
  state: "connecting" | "live" | "retrying" | "refused";
  error?: ErrorInWords;
}

const FeedContext = createContext<CallsFeed>({ calls: [], state: "connecting" });

/**
 * One WatchCalls stream for the whole session, so the live tail and the
 * playground's cost see every call since sign-in whichever page is open.
 * Reconnects after a failure, with a growing pause.
 */
export function CallsFeedProvider({ children }: { children: ReactNode }) {
  const transport = useTransport();
  const [feed, setFeed] = useState<CallsFeed>({ calls: [], state: "connecting" });
  useEffect(() => {
    const stop = new AbortController();
    const client = createClient(AdminService, transport);
    void (async () => {
      for (let failures = 0; !stop.signal.aborted; failures++) {
        try {
          setFeed((f) => ({ ...f, state: "live", error: undefined }));
          for await (const res of client.watchCalls({}, { signal: stop.signal })) {
            failures = 0;
            const call = res.call;
            if (call) setFeed((f) => ({ ...f, calls: [call, ...f.calls].slice(0, KEPT) }));
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          const error = inWords(err);
          const refused = ["UNAUTHENTICATED", "ADMIN_SCOPE_REQUIRED", "KEY_REVOKED", "KEY_EXPIRED"].includes(error.reason);
          setFeed((f) => ({ ...f, state: refused ? "refused" : "retrying", error }));
          if (refused) return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** failures)));
      }
    })();
    return () => stop.abort();
  }, [transport]);
  return <FeedContext.Provider value={feed}>{children}</FeedContext.Provider>;
}

export function useCallsFeed(): CallsFeed {
  return useContext(FeedContext);
}
