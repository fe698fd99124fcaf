import { Cluster, Redis, type RedisOptions } from "ioredis";
import { FailFastCluster } from "./fail-fast-cluster.js";
import type { RedisAddress, RedisTarget } from "./redis-url.js";

/** What RedisLink runs its commands on: one node (alone or behind Sentinels), or a cluster. */
export type RedisClient = Redis | Cluster;

export interface ClientTuning {
  /** A command slower than this fails. */
  commandTimeoutMs: number;
  /** How long a connection attempt may take. */
  connectTimeoutMs: number;
  /** The longest pause between two reconnection attempts. */
  maxReconnectDelayMs: number;
}

/**
 * A cluster command whose master is gone is retried while its replica takes
 * over (every 100 ms, `maxRedirections` times): at most about this long. Long
 * enough for a failover with `cluster-node-timeout` of a second or two; past
 * it the command fails and the caller's failure policy decides, as when Redis
 * is down, and the shard's later commands fail at once until it is served
 * again (see FailFastCluster).
 */
export const CLUSTER_FAILOVER_WAIT_MS = 5_000;
const FAILOVER_RETRY_MS = 100;

const reconnectDelay = (maxMs: number) => (attempt: number) => Math.min(100 * attempt, maxMs);

/**
 * The command connection. Commands fail at once while Redis is unreachable
 * (no offline queue, no retries): the caller's policy decides, rather than a
 * call waiting on the request path. Only a cluster's failover is waited for,
 * and briefly, once (see CLUSTER_FAILOVER_WAIT_MS).
 */
export function createCommandClient(target: RedisTarget, tuning: ClientTuning): RedisClient {
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: tuning.commandTimeoutMs,
    connectTimeout: tuning.connectTimeoutMs,
  } satisfies RedisOptions;
  switch (target.kind) {
    case "single":
      return new Redis({ ...common, ...singleNodeOptions(target), maxRetriesPerRequest: 0, retryStrategy: reconnectDelay(tuning.maxReconnectDelayMs) });
    case "sentinel":
      return new Redis({
        ...common,
        ...sentinelOptions(target),
        maxRetriesPerRequest: 0,
        retryStrategy: reconnectDelay(tuning.maxReconnectDelayMs),
        sentinelRetryStrategy: reconnectDelay(tuning.maxReconnectDelayMs),
      });
    case "cluster":
      return new FailFastCluster(target.nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        // Writes and the scripts' reads go to masters: a replica may lag behind.
        scaleReads: "master",
        retryDelayOnFailover: FAILOVER_RETRY_MS,
        retryDelayOnClusterDown: FAILOVER_RETRY_MS,
        retryDelayOnTryAgain: FAILOVER_RETRY_MS,
        // Each retry of a failover costs two redirections (the lost master's closed connection, then another
        // master's MOVED back to it): counted at one, the wait ended after about 4 s, not 5 (a failover of 4 s
        // on a busy machine then fell back to the policy). The command's timeout, not this count, ends the wait.
        maxRedirections: (3 * CLUSTER_FAILOVER_WAIT_MS) / FAILOVER_RETRY_MS,
        slotsRefreshTimeout: tuning.connectTimeoutMs,
        clusterRetryStrategy: reconnectDelay(tuning.maxReconnectDelayMs),
        redisOptions: {
          ...clusterNodeOptions(target),
          // A command's timer runs across its retries: it must outlast the failover it waits for.
          commandTimeout: Math.max(tuning.commandTimeoutMs, CLUSTER_FAILOVER_WAIT_MS),
          connectTimeout: tuning.connectTimeoutMs,
          maxRetriesPerRequest: 0,
        },
      });
  }
}

/**
 * A connection for one subscription to a single Redis or through Sentinels:
 * it queues the SUBSCRIBE until Redis is reachable and renews it after every
 * reconnection. (A cluster's subscriber is a ClusterSubscription instead.)
 */
export function createSubscriberClient(target: Exclude<RedisTarget, { kind: "cluster" }>, tuning: ClientTuning): Redis {
  const options = {
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    connectTimeout: tuning.connectTimeoutMs,
    retryStrategy: reconnectDelay(tuning.maxReconnectDelayMs),
  } satisfies RedisOptions;
  if (target.kind === "single") return new Redis({ ...options, ...singleNodeOptions(target) });
  return new Redis({ ...options, ...sentinelOptions(target), sentinelRetryStrategy: reconnectDelay(tuning.maxReconnectDelayMs) });
}

/** Where one Redis is and how to log in, as parsed: ioredis never parses the URL itself (see redis-url.ts). */
function singleNodeOptions(target: Extract<RedisTarget, { kind: "single" }>): RedisOptions {
  return {
    host: target.node.host,
    port: target.node.port,
    db: target.db,
    username: target.auth.username,
    password: target.auth.password,
    tls: target.tls ? {} : undefined,
  };
}

/** Options for a plain connection to one node of a cluster (credentials and TLS). */
export function clusterNodeOptions(target: Extract<RedisTarget, { kind: "cluster" }>): RedisOptions {
  return { username: target.auth.username, password: target.auth.password, tls: target.tls ? {} : undefined };
}

function sentinelOptions(target: Extract<RedisTarget, { kind: "sentinel" }>): RedisOptions {
  return {
    sentinels: target.sentinels.map(({ host, port }: RedisAddress) => ({ host, port })),
    name: target.masterName,
    db: target.db,
    username: target.auth.username,
    password: target.auth.password,
    sentinelUsername: target.sentinelAuth.username,
    sentinelPassword: target.sentinelAuth.password,
    tls: target.tls ? {} : undefined,
    enableTLSForSentinelMode: target.tls,
    // Sentinels announce a failover on +switch-master: reconnect to the new master at once.
    failoverDetector: true,
  };
}
