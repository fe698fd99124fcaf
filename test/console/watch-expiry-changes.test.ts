import { ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchExpiry, revalidateWatches } from "../../src/api/admin/watch-revalidation.js";
import { CallFeed, type FinishedCall } from "../../src/api/envelope/call-feed.js";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { finishedCallOf } from "../support/finished-calls.js";
import { LogCapture } from "../support/gateway.js";
import { storedKey } from "../support/key-records.js";

// A watch ends at its key's expiry. The expiry it was opened with is not the
// last word: an admin may give the watching key an expiry, or move it, while
// it watches, and the watch must end when the key does, not at the old time
// (or never, for a key that had none), seeing every call in between.

const call = finishedCallOf;

const HOUR_MS = 3_600_000;

describe("a watch whose key's expiry changes while it watches", () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  /** A watch by admin key `id` opened with `expireMs`, and the key as the store holds it now (set by the test). */
  function watching(id: string, expireMs: number | undefined) {
    const feed = new CallFeed();
    let stored: KeyRecord = storedKey(id, { admin: true, team: "", expireMs });
    const revalidate = revalidateWatches({ feed, key: async () => stored, logger: createLogger("info", new LogCapture()) });
    const watch = feed.watch(id, () => true, new AbortController().signal, { expiry: watchExpiry(id, stored) });
    return {
      feed,
      watch,
      /** The key changed in the store: the directory forgets it, and its watches are judged again. */
      async change(overrides: Partial<KeyRecord>) {
        stored = { ...stored, ...overrides };
        revalidate(id);
        await vi.advanceTimersByTimeAsync(0);
      },
    };
  }

  /** What the watch's next step brings: a call's id, or the reason it ended with. */
  async function nextOf(feed: CallFeed, watch: AsyncGenerator<FinishedCall>, id: string): Promise<string> {
    const next = watch.next();
    feed.publish(call(id));
    try {
      return (await next).value?.requestId ?? "ended";
    } catch (err) {
      return reasonOf(ConnectError.from(err)) ?? String(err);
    }
  }

  it("ends at the sooner expiry the key was given", async () => {
    const { feed, watch, change } = watching("dash", Date.now() + 30 * 24 * HOUR_MS);
    expect(await nextOf(feed, watch, "a")).toBe("a");
    await change({ expireMs: Date.now() + HOUR_MS });
    await vi.advanceTimersByTimeAsync(HOUR_MS);
    expect(await nextOf(feed, watch, "b")).toBe("KEY_EXPIRED");
    expect(feed.watched).toBe(false);
  });

  it("ends at the expiry given to a key that had none", async () => {
    const { feed, watch, change } = watching("dash", undefined);
    expect(await nextOf(feed, watch, "a")).toBe("a");
    await change({ expireMs: Date.now() + HOUR_MS });
    await vi.advanceTimersByTimeAsync(HOUR_MS);
    expect(await nextOf(feed, watch, "b")).toBe("KEY_EXPIRED");
  });

  it("goes on past its old expiry when the key's was moved later or lifted, until the new one", async () => {
    const later = watching("later", Date.now() + HOUR_MS);
    const lifted = watching("lifted", Date.now() + HOUR_MS);
    // A watch is on once it has read a call.
    expect(await nextOf(later.feed, later.watch, "start")).toBe("start");
    expect(await nextOf(lifted.feed, lifted.watch, "start")).toBe("start");
    await later.change({ expireMs: Date.now() + 3 * HOUR_MS });
    await lifted.change({ expireMs: undefined });
    await vi.advanceTimersByTimeAsync(2 * HOUR_MS);
    expect(await nextOf(later.feed, later.watch, "a")).toBe("a");
    expect(await nextOf(lifted.feed, lifted.watch, "a")).toBe("a");
    await vi.advanceTimersByTimeAsync(HOUR_MS);
    expect(await nextOf(later.feed, later.watch, "b")).toBe("KEY_EXPIRED");
    expect(await nextOf(lifted.feed, lifted.watch, "b")).toBe("b");
  });
});
