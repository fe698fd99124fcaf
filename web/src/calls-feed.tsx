import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { CallEvent } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { inWords, KEY_REFUSED, type ErrorInWords } from "./errors";

/** Calls kept in the page: the newest first, this many at most. */
export const KEPT = 500;

/**
 * A call as the page keeps it, numbered in the order it came: its request id
 * is the caller's to choose (x-request-id), so two calls may share one, and
 * only `seq` tells them apart.
 */
export interface FedCall {
  seq: number;
  call: CallEvent;
}

export interface CallsFeed {
  calls: FedCall[];
  /** Calls seen since sign-in, those no longer kept included. */
  seen: number;
  /** "live" once the gateway confirmed the watch, not before: a stream that never opens stays "connecting". */
  state: "connecting" | "live" | "retrying" | "refused";
  error?: ErrorInWords;
}

const FeedContext = createContext<CallsFeed>({ calls: [], seen: 0, state: "connecting" });

/**
 * One WatchCalls stream for the whole session, so the live tail and the
 * playground's cost see every call since sign-in whichever page is open.
 * Reconnects after a failure, with a growing pause.
 */
export function CallsFeedProvider({ children }: { children: ReactNode }) {
  const transport = useTransport();
  const [feed, setFeed] = useState<CallsFeed>({ calls: [], seen: 0, state: "connecting" });
  useEffect(() => {
    const stop = new AbortController();
    const client = createClient(AdminService, transport);
    void (async () => {
      for (let failures = 0; !stop.signal.aborted; failures++) {
        try {
          // The first message, without a call, confirms the watch (confirm_start): the stream's headers come with it, not before.
          for await (const res of client.watchCalls({ confirmStart: true }, { signal: stop.signal })) {
            failures = 0;
            const call = res.call;
            setFeed((f) => (call ? { ...f, state: "live", error: undefined, calls: [{ seq: f.seen + 1, call }, ...f.calls].slice(0, KEPT), seen: f.seen + 1 } : { ...f, state: "live", error: undefined }));
          }
          // The gateway ended the stream (a shutdown, say): not live until the next one is confirmed.
          setFeed((f) => ({ ...f, state: "connecting" }));
        } catch (err) {
          if (stop.signal.aborted) return;
          const error = inWords(err);
          const refused = KEY_REFUSED.has(error.reason);
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
