import type { Cluster, Redis } from "ioredis";
import type { Logger } from "../observability/logger.js";
import { ClusterSubscription } from "./cluster-subscription.js";
import { FailFastCluster } from "./fail-fast-cluster.js";
import { clusterNodeOptions, createCommandClient, createSubscriberClient, type ClientTuning, type RedisClient } from "./redis-clients.js";
import { parseRedisUrl, type RedisTarget } from "./redis-url.js";

/** How soon a connection that ioredis gave up on starts again (see startAgainWhenEnded). */
const RESTART_AFTER_END_MS = 200;

export interface RedisLinkOptions {
  /** One Redis, a cluster or Sentinels: see redis-url.ts for the shapes. */
  url: string;
  /** Prepended to every key and channel, so several gateways (or tests) can share one Redis. */
  prefix: string;
  logger: Logger;
  /**
   * Told each time Redis becomes reachable or unreachable, or a cluster's
   * slots stop or start being served: then `unservedSlots` names them ("5461-10922"),
   * and `up` is false though the other slots' commands still run.
   */
  onStateChange?: (up: boolean, reason: string, unservedSlots?: string) => void;
  /** What its callers do while Redis is unreachable, for the log line that says it is ("limits … (policy: fail open)"). */
  whileDown?: string;
  /** What Redis being reachable gives its callers, for the log line that says it is. */
  whileUp?: string;
  /** A command slower than this fails (and the caller falls back to its policy). */
  commandTimeoutMs?: number;
}

/**
 * The connection to Redis shared by limits, spend counters and revocation
 * news: one Redis, a Redis Cluster, or a master found through Sentinels.
 * Commands fail at once while Redis is unreachable (no offline queue):
 * callers fall back to the configured policy instead of waiting on the
 * request path, and the link reconnects in the background. A cluster's
 * failover (a master lost, its replica promoted) is waited out briefly
 * instead: see CLUSTER_FAILOVER_WAIT_MS; past it the shard's commands fail
 * at once and the link reports its slots unserved until they are served again.
 */
export class RedisLink {
  readonly prefix: string;
  readonly client: RedisClient;
  private readonly target: RedisTarget;
  private readonly tuning: ClientTuning;
  private readonly subscriptions: { close(): void }[] = [];
  private up: boolean | undefined;
  private unservedSlots: string | undefined;
  /** What was last reported (logged, and told to onStateChange). */
  private reported: string | undefined;
  private lastReason = "not connected yet";
  private closed = false;

  constructor(private readonly options: RedisLinkOptions) {
    this.prefix = options.prefix;
    this.target = parseRedisUrl(options.url);
    this.tuning = { commandTimeoutMs: options.commandTimeoutMs ?? 500, connectTimeoutMs: 2_000, maxReconnectDelayMs: 2_000 };
    this.client = createCommandClient(this.target, this.tuning);
    this.client.on("ready", () => this.setState(true, "connected"));
    this.client.on("error", (err: Error) => this.setState(false, err.message));
    this.client.on("close", () => this.setState(false, "connection closed"));
    if (this.client instanceof FailFastCluster) this.client.watchUnserved((slots) => this.setUnserved(slots));
    this.startAgainWhenEnded(this.client);
  }

  /** Connects, or keeps retrying in the background if Redis is not reachable yet. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      this.setState(false, (err as Error).message);
    }
  }

  /** Commands can be sent (a cluster's unserved slots fail theirs at once, as their callers expect of an error). */
  get isUp(): boolean {
    return this.up === true && this.client.status === "ready";
  }

  get reason(): string {
    return this.lastReason;
  }

  /** What kind of Redis this is, for logs: "single", "cluster" or "sentinel". */
  get kind(): RedisTarget["kind"] {
    return this.target.kind;
  }

  /**
   * A key under the prefix. Scripts that take several keys keep them in one
   * cluster slot with a hash tag (`{…}`) in a part; the prefix has no braces
   * (the configuration refuses them), so that tag is the key's first.
   */
  key(...parts: string[]): string {
    return this.prefix + parts.join(":");
  }

  /**
   * Subscribes to a channel (under the prefix) on a connection of its own.
   * `onResubscribe` runs after every (re)subscription: messages may have been lost meanwhile.
   * `lost` says what a caller falls back on when the subscription fails.
   */
  async subscribe(channel: string, onMessage: (message: string) => void, onResubscribe: () => void, lost = "revocations arrive through the database poll"): Promise<void> {
    const name = this.key(channel);
    const subscribed = this.target.kind === "cluster" ? this.subscribeOnCluster(name, onMessage, onResubscribe) : this.subscribeOnNode(name, onMessage, onResubscribe, channel, lost);
    // Wait for the subscription while Redis answers, briefly; never hold up the start when it does not: the
    // subscription is made once Redis is reachable, and `onResubscribe` then covers what was missed.
    if (!this.isUp) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribed, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.key(channel), message);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([
      this.client.quit().catch(() => this.client.disconnect()),
      ...this.subscriptions.map((subscription) => subscription.close()),
    ]);
  }

  /** A subscribed connection runs no other commands: it queues the subscription until Redis is reachable and renews it on reconnection. */
  private subscribeOnNode(name: string, onMessage: (message: string) => void, onResubscribe: () => void, channel: string, lost: string): Promise<unknown> {
    const subscriber: Redis = createSubscriberClient(this.target as Exclude<RedisTarget, { kind: "cluster" }>, this.tuning);
    // Closed at once: a QUIT would wait in the offline queue while Redis is unreachable.
    this.subscriptions.push({ close: () => subscriber.disconnect() });
    subscriber.on("error", () => {});
    this.startAgainWhenEnded(subscriber);
    subscriber.on("ready", onResubscribe);
    subscriber.on("message", (received: string, message: string) => {
      if (received === name) onMessage(message);
    });
    subscriber.connect().catch(() => {});
    return subscriber.subscribe(name).catch((err: Error) => {
      this.options.logger.warn({ channel, error: err.message }, `could not subscribe to Redis; ${lost}`);
    });
  }

  private subscribeOnCluster(name: string, onMessage: (message: string) => void, onResubscribe: () => void): Promise<void> {
    const target = this.target as Extract<RedisTarget, { kind: "cluster" }>;
    const subscription = new ClusterSubscription({
      cluster: this.client as Cluster,
      seeds: target.nodes,
      nodeOptions: { ...clusterNodeOptions(target), connectTimeout: this.tuning.connectTimeoutMs },
      channel: name,
      onMessage,
      onSubscribed: onResubscribe,
      maxDelayMs: this.tuning.maxReconnectDelayMs,
    });
    this.subscriptions.push(subscription);
    subscription.start();
    return subscription.subscribed;
  }

  /**
   * ioredis gives a connection up for good ("end") when a reconnection fails
   * with an error rather than a closed socket: a Sentinel announcing a
   * failover while a reconnection is still asking it for the master does that
   * (seen on CI, the link dead for the rest of the run). Until the link is
   * closed, an ended connection starts again; a subscriber renews its
   * subscriptions once ready, as after any reconnection.
   */
  private startAgainWhenEnded(client: RedisClient): void {
    client.on("end", () => {
      const again = setTimeout(() => {
        if (!this.closed && client.status === "end") client.connect().catch(() => {});
      }, RESTART_AFTER_END_MS);
      again.unref();
    });
  }

  private setState(up: boolean, reason: string): void {
    if (this.closed) return;
    this.lastReason = reason;
    this.up = up;
    this.report();
  }

  private setUnserved(slots: string | undefined): void {
    if (this.closed) return;
    this.unservedSlots = slots;
    this.report();
  }

  /** Logs and tells the link's state when it changes: unreachable, reachable with slots unserved, or wholly reachable. */
  private report(): void {
    if (this.up === undefined) return;
    const whileDown = this.options.whileDown ?? "its callers fall back on what they do without it";
    const slots = this.up ? this.unservedSlots : undefined;
    const state = !this.up ? "down" : slots ? `unserved ${slots}` : "up";
    if (state === this.reported) return;
    this.reported = state;
    if (!this.up) {
      this.options.logger.warn({ reason: this.lastReason }, `Redis unreachable: ${whileDown}`);
      this.options.onStateChange?.(false, this.lastReason);
    } else if (slots) {
      const reason = `Redis Cluster slots ${slots} are not served`;
      this.options.logger.warn({ slots }, `${reason} (a shard's master and replicas are all unreachable): for keys in them, ${whileDown}`);
      this.options.onStateChange?.(false, reason, slots);
    } else {
      const whileUp = this.options.whileUp ?? "limits, spend counters and revocations are shared";
      this.options.logger.info({ redis: this.target.kind }, `Redis reachable: ${whileUp}`);
      this.options.onStateChange?.(true, this.lastReason);
    }
  }
}
