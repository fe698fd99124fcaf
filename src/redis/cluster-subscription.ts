import { Redis, type Cluster, type RedisOptions } from "ioredis";
import type { RedisAddress } from "./redis-url.js";

export interface ClusterSubscriptionOptions {
  cluster: Cluster;
  /** The configured nodes, tried when the cluster knows of none (not connected yet). */
  seeds: RedisAddress[];
  /** Credentials, TLS and timeouts for a connection to one node. */
  nodeOptions: RedisOptions;
  channel: string;
  onMessage: (message: string) => void;
  /** After every (re)subscription: messages published meanwhile were lost. */
  onSubscribed: () => void;
  maxDelayMs: number;
}

/**
 * One channel's subscription on a Redis Cluster. A message published on any
 * node reaches every node (PUBLISH travels the cluster bus), so any one node,
 * master or replica, will do. When that node goes away, the subscription
 * moves to another node the cluster knows, and says so (`onSubscribed`),
 * since what was published in between is lost. (ioredis's own cluster
 * subscriber moves too, but silently.)
 */
export class ClusterSubscription {
  private connection: Redis | undefined;
  private next = 0;
  private failures = 0;
  private closed = false;
  private firstSubscribed!: () => void;
  /** Resolves once the first subscription is in place. */
  readonly subscribed = new Promise<void>((resolve) => (this.firstSubscribed = resolve));

  constructor(private readonly options: ClusterSubscriptionOptions) {}

  start(): void {
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.connection?.disconnect();
  }

  private candidates(): RedisAddress[] {
    const known = this.options.cluster.nodes("all").map((node) => ({ host: node.options.host!, port: node.options.port! }));
    return known.length > 0 ? known : this.options.seeds;
  }

  private connect(): void {
    if (this.closed) return;
    const candidates = this.candidates();
    const { host, port } = candidates[this.next++ % candidates.length]!;
    const connection = new Redis({ ...this.options.nodeOptions, host, port, lazyConnect: true, enableOfflineQueue: true, retryStrategy: () => null });
    this.connection = connection;
    connection.on("error", () => {});
    connection.on("message", (channel: string, message: string) => {
      if (channel === this.options.channel) this.options.onMessage(message);
    });
    connection.once("end", () => {
      if (this.closed) return;
      // Hop to another node, sooner the first times (a failover), then at most every maxDelayMs.
      this.failures++;
      setTimeout(() => this.connect(), Math.min(100 * this.failures, this.options.maxDelayMs)).unref();
    });
    connection
      .connect()
      .then(() => connection.subscribe(this.options.channel))
      .then(() => {
        this.failures = 0;
        this.options.onSubscribed();
        this.firstSubscribed();
      })
      .catch(() => connection.disconnect());
  }
}
