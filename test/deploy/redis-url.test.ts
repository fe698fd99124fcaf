import { describe, expect, it } from "vitest";
import { buildUsageConfig } from "../../src/config/usage-config.js";
import { parseRedisUrl, redisUrlFromEnv } from "../../src/redis/redis-url.js";

const usage = (env: NodeJS.ProcessEnv) => buildUsageConfig({}, env, "environment", "/tmp/unused");

describe("REDIS_URL: one Redis, a cluster, or Sentinels", () => {
  it("reads one Redis's host, port, database, credentials and TLS", () => {
    expect(parseRedisUrl("redis://:pw@cache:6380/2")).toEqual({ kind: "single", node: { host: "cache", port: 6380 }, db: 2, auth: { password: "pw" }, tls: false });
    expect(parseRedisUrl("rediss://cache")).toEqual({ kind: "single", node: { host: "cache", port: 6379 }, db: 0, auth: {}, tls: true });
  });

  it("reads a cluster's seed nodes, credentials and TLS", () => {
    expect(parseRedisUrl("rediss+cluster://app:p%40ss@10.0.0.1:7000,redis-2,[::1]:7002")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "redis-2", port: 6379 },
        { host: "::1", port: 7002 },
      ],
      auth: { username: "app", password: "p@ss" },
      tls: true,
    });
    expect(redisUrlFromEnv({ REDIS_CLUSTER_NODES: "a:7000, b:7001" })).toBe("redis+cluster://a:7000,b:7001");
  });

  it("reads Sentinels, the master's name and database, and the Sentinels' own credentials", () => {
    expect(parseRedisUrl("redis+sentinel://:secret@s1:26379,s2/mymaster/3?sentinel_password=sp")).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
      ],
      masterName: "mymaster",
      db: 3,
      auth: { password: "secret" },
      sentinelAuth: { password: "sp" },
      tls: false,
    });
  });

  it("refuses what it cannot use, naming the variable and never the password", () => {
    const refused = (env: NodeJS.ProcessEnv) => {
      try {
        usage(env);
      } catch (err) {
        return (err as Error).message;
      }
      return "accepted";
    };
    expect(refused({ REDIS_URL: "http://cache:6379" })).toMatch(/^environment: REDIS_URL: must start with redis:\/\/, rediss:\/\//);
    expect(refused({ REDIS_URL: "redis+sentinel://s1:26379" })).toMatch(/must name the Sentinel master/);
    expect(refused({ REDIS_URL: "redis+cluster://a:1,b:2/3" })).toMatch(/only database 0/);
    expect(refused({ REDIS_URL: "redis+cluster://user:s3cr@t@a:1" })).toMatch(/unencoded @/);
    expect(refused({ REDIS_URL: "redis+cluster://user:s3cr@t@a:1" })).not.toContain("s3cr");
    expect(refused({ REDIS_URL: "redis+cluster://a:99999" })).toMatch(/"a:99999" is not host:port/);
    expect(refused({ REDIS_URL: "redis://a", REDIS_CLUSTER_NODES: "a:1" })).toMatch(/REDIS_CLUSTER_NODES: set REDIS_URL or REDIS_CLUSTER_NODES, not both/);
    expect(refused({ REDIS_CLUSTER_NODES: "u:p@a:1" })).toMatch(/host:port pairs/);
    expect(usage({ REDIS_CLUSTER_NODES: "a:7000" }).redis.enabled).toBe(true);
  });

  it("refuses a prefix with braces: keys' own hash tags must come first, or a script's keys land in different cluster slots", () => {
    expect(() => usage({ REDIS_URL: "redis://a", REDIS_PREFIX: "{tenant}:" })).toThrow(/REDIS_PREFIX: must not contain \{ or \}/);
    expect(() => buildUsageConfig({ redis: { prefix: "x{}" } }, { REDIS_URL: "redis://a" }, "switchboard.yaml", "/tmp/unused")).toThrow(/switchboard.yaml: redis.prefix/);
  });
});
