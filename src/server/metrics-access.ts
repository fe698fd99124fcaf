import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigError } from "../config/config-error.js";

/** A token shorter than this could be guessed, one scrape at a time. */
const MIN_TOKEN_CHARS = 16;

/**
 * Who may read /metrics. It shows key ids, teams, spend and budgets, and it
 * is served on the port every client reaches: with SWITCHBOARD_METRICS_TOKEN
 * set, only a scraper that presents it as a bearer token; without, anyone
 * (the quick start, a private network), and the gateway says so at start.
 */
export class MetricsAccess {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token === undefined ? undefined : sha256(token);
  }

  get open(): boolean {
    return this.digest === undefined;
  }

  /** Whether a request with this Authorization header may read the metrics. */
  allows(authorization: string | undefined): boolean {
    if (this.digest === undefined) return true;
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    // Digests of equal length, compared in constant time: neither the token's length nor its first wrong character shows.
    return presented !== undefined && timingSafeEqual(sha256(presented), this.digest);
  }
}

export function metricsAccessFromEnv(env: NodeJS.ProcessEnv): MetricsAccess {
  const token = env.SWITCHBOARD_METRICS_TOKEN;
  if (token === undefined || token === "") return new MetricsAccess(undefined);
  if (token.length < MIN_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError("environment", "SWITCHBOARD_METRICS_TOKEN", `must be at least ${MIN_TOKEN_CHARS} printable ASCII characters without spaces (for example: openssl rand -hex 32)`);
  }
  return new MetricsAccess(token);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
