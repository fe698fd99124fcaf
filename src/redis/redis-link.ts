import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.js";

export interface RedisLinkOptions {
  url: string;
  /** Prepended to every key and channel, so several gateways (or tests) can share one Redis. */
  prefix: string;
  logger: Logger;
  /** Told each time Redis becomes reachable or unreachable. */
  onStateChange?: (up: boolean, reason: string) => void;
  /** A command slower than this fails (and the caller falls back to its policy). */
  commandTimeoutMs?: number;
}

/**
 * The connection to Redis shared by limits, spend counters and revocation
 * news. Commands fail at once while Redis is unreachable (no offline queue):
 * callers fall back to the configured policy instead of waiting on the
 * request path, and the link reconnects in the background.
 */
export class RedisLink {
  readonly prefix: string;
  readonly client: Redis;
  private readonly subscribers: Redis[] = [];
  private up: boolean | undefined;
  private lastReason = "not connected yet";
  private closed = false;

  constructor(private readonly options: RedisLinkOptions) {
    this.prefix = options.prefix;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
    });
    this.client.on("ready", () => this.setState(true, "connected"));
    this.client.on("error", (err: Error) => this.setState(false, err.message));
    this.client.on("close", () => this.setState(false, "connection closed"));
  }

  /** Connects, or keeps retrying in the background if Redis is not reachable yet. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      this.setState(false, (err as Error).message);
    }
  }

  get isUp(): boolean {
    return this.up === true && this.client.status === "ready";
  }

  get reason(): string {
    return this.lastReason;
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(":");
  }

  /**
   * Subscribes to a channel (under the prefix) on a connection of its own.
   * `onResubscribe` runs after a reconnection: messages may have been lost meanwhile.
   * `lost` says what a caller falls back on when the subscription fails.
   */
  async subscribe(channel: string, onMessage: (message: string) => void, onResubscribe: () => void, lost = "revocations arrive through the database poll"): Promise<void> {
    // Its own connection (a subscribed connection runs no other commands), which
    // queues the subscription until Redis is reachable and renews it on reconnection.
    const subscriber = this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: true });
    this.subscribers.push(subscriber);
    const name = this.key(channel);
    subscriber.on("error", () => {});
    subscriber.on("ready", onResubscribe);
    subscriber.on("message", (received: string, message: string) => {
      if (received === name) onMessage(message);
    });
    subscriber.connect().catch(() => {});
    const subscribed = subscriber.subscribe(name).catch((err: Error) => {
      this.options.logger.warn({ channel, error: err.message }, `could not subscribe to Redis; ${lost}`);
    });
    // Wait for the subscription while Redis answers; never hold up the start when it does not.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribed, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.key(channel), message);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.client, ...this.subscribers].map((connection) => connection.quit().catch(() => connection.disconnect())));
  }

  private setState(up: boolean, reason: string): void {
    if (this.closed) return;
    this.lastReason = reason;
    if (up === this.up) return;
    this.up = up;
    if (up) this.options.logger.info("Redis reachable: limits, spend counters and revocations are shared");
    else this.options.logger.warn({ reason }, "Redis unreachable: falling back to the configured policy");
    this.options.onStateChange?.(up, reason);
  }
}
