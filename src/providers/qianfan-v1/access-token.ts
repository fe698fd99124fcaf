import type { Credential } from "../../secrets/credential.js";
import { UpstreamError } from "../upstream-error.js";
import { abortKind } from "../../common/abort-kind.js";

/** A token as the exchange returned it. */
export interface IssuedToken {
  token: string;
  /** Lifetime in seconds (`expires_in`; 30 days at Baidu). */
  expiresInS: number;
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

/** Refresh an hour early, or a tenth of the lifetime early for short-lived tokens. */
const MAX_MARGIN_MS = 3_600_000;

/**
 * Access tokens per credential: fetched once, shared by all calls, refreshed
 * before they expire or when the vendor rejects one. Concurrent calls wait on
 * the same exchange instead of each starting one.
 */
export class AccessTokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly exchange: (credential: Credential) => Promise<IssuedToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token for the credential; the wait ends early if `signal` fires, the shared exchange does not. */
  async get(credential: Credential, signal: AbortSignal, provider: string): Promise<string> {
    const key = cacheKey(credential);
    const cached = this.tokens.get(key);
    if (cached && this.now() < cached.refreshAt) return cached.token;
    let pending = this.pending.get(key);
    if (!pending) {
      const started = this.fetch(credential, key);
      this.pending.set(key, started);
      // Cleared whether it succeeds or fails (a failure is not cached: the next call tries again).
      const clear = () => {
        if (this.pending.get(key) === started) this.pending.delete(key);
      };
      started.then(clear, clear);
      pending = started;
    }
    return (await untilAborted(pending, signal, provider, credential)).token;
  }

  /** Forgets a token the vendor rejected, unless a newer one already replaced it. */
  invalidate(credential: Credential, token: string): void {
    const key = cacheKey(credential);
    if (this.tokens.get(key)?.token === token) this.tokens.delete(key);
  }

  private async fetch(credential: Credential, key: string): Promise<CachedToken> {
    const issued = await this.exchange(credential);
    const lifetimeMs = Math.max(0, issued.expiresInS) * 1000;
    const entry = { token: issued.token, refreshAt: this.now() + lifetimeMs - Math.min(MAX_MARGIN_MS, lifetimeMs / 10) };
    this.tokens.set(key, entry);
    return entry;
  }
}

// Keyed by fingerprint too, so a rotated key never reuses the old key's token.
function cacheKey(credential: Credential): string {
  return `${credential.id}#${credential.fingerprint}`;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, provider: string, credential: Credential): Promise<T> {
  const aborted = (): UpstreamError => {
    const kind = abortKind(signal);
    return new UpstreamError({
      kind,
      provider,
      credentialId: credential.id,
      message: kind === "timeout" ? `provider "${provider}" did not issue an access token before the deadline` : "the call was cancelled",
    });
  };
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener("abort", onAbort), reject(err)),
    );
  });
}
