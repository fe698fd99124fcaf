// A single-node REDIS_URL is parsed as strictly as the cluster and Sentinel forms, and ioredis is handed the parts:
// its own parser (Node's legacy url.parse) printed a URL it could not read, password and all, to stderr, then
// connected to 127.0.0.1:6379 instead; a % escape that does not decode crashed the start with a stack trace.
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { buildUsageConfig } from "../../src/config/usage-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { RedisLink } from "../../src/redis/redis-link.js";
import { parseRedisUrl } from "../../src/redis/redis-url.js";
import { spawnGateway } from "../support/gateway-process.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix, tempDir } from "../support/stores.js";

const PASSWORD = "s3cretRD";

function refusal(url: string): string {
  try {
    buildUsageConfig({}, { REDIS_URL: url }, "environment", "/tmp/unused");
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
}

describe("a single-node REDIS_URL", () => {
  it("is refused, naming REDIS_URL and never the password, when it cannot be used as written", () => {
    const cases: [string, RegExp][] = [
      [`redis://:${PASSWORD}@127.0.0.1:notaport`, /"127\.0\.0\.1:notaport" is not host:port/],
      [`redis://:${PASSWORD}@cache:0`, /"cache:0" is not host:port/],
      [`redis://:${PASSWORD}@cache:65536`, /"cache:65536" is not host:port/],
      [`redis://u:${PASSWORD}%zz@127.0.0.1:6379`, /not valid percent-encoding/],
      [`redis://:${PASSWORD}@`, /names no host/],
      [`redis://:${PASSWORD}@/0`, /names no host/],
      ["redis://", /names no host/],
      [`redis://:${PASSWORD}@cache:6379/two`, /a path must be a database number/],
      [`redis://:${PASSWORD}@cache:6379?family=6`, /takes no query parameters \(got family\)/],
      [`redis://:${PASSWORD}@a:1,b:2`, /names several hosts/],
      [`redis://:pa/${PASSWORD}@cache:6379`, /percent-encode them/],
    ];
    for (const [url, problem] of cases) {
      const message = refusal(url);
      expect(message, url).toMatch(/^environment: REDIS_URL: /);
      expect(message, url).toMatch(problem);
      expect(message, url).not.toContain(PASSWORD);
      expect(message, url).not.toContain("zz");
    }
    // A Sentinel master's name that does not decode is refused too, not thrown as URIError.
    expect(refusal("redis+sentinel://s1:26379/my%zzmaster")).toMatch(/^environment: REDIS_URL: has a Sentinel master name that is not valid percent-encoding/);
  });

  it("reads what it names: host, port, database, user, password (percent-decoded), TLS", () => {
    expect(parseRedisUrl("rediss://app:p%40ss%25@[::1]:6380/3")).toEqual({
      kind: "single",
      node: { host: "::1", port: 6380 },
      db: 3,
      auth: { username: "app", password: "p@ss%" },
      tls: true,
    });
    expect(parseRedisUrl("redis://cache/")).toEqual({ kind: "single", node: { host: "cache", port: 6379 }, db: 0, auth: {}, tls: false });
  });

  it("connects to the host, port and database it names", async () => {
    const url = new URL(requireService("SWITCHBOARD_TEST_REDIS_URL"));
    url.pathname = "/5";
    const prefix = redisPrefix();
    const link = new RedisLink({ url: url.toString(), prefix, logger: createLogger("silent") });
    const direct = new Redis({ host: url.hostname, port: Number(url.port), db: 5, lazyConnect: true });
    try {
      await link.connect();
      expect(link.isUp).toBe(true);
      await link.client.set(link.key("where"), "here");
      await direct.connect();
      expect(await direct.get(`${prefix}where`)).toBe("here");
    } finally {
      direct.disconnect();
      await link.close();
    }
  });

  it("stops the start in one line (exit 78) that names REDIS_URL and repeats no password", { timeout: 60_000 }, async () => {
    for (const url of [`redis://:${PASSWORD}@127.0.0.1:notaport`, `redis://u:${PASSWORD}%zzRD@127.0.0.1:6379`]) {
      const gateway = spawnGateway({ SWITCHBOARD_MASTER_KEY: "sk-test-redis-url", SWITCHBOARD_DATA_DIR: tempDir("sb-redis-url-"), REDIS_URL: url });
      const code = await gateway.exited;
      const output = gateway.output().trim();
      expect(code, output).toBe(78);
      expect(output.split("\n").filter((line) => !line.startsWith("{")), output).toEqual([expect.stringMatching(/^switchboard: configuration error: environment: REDIS_URL: /)]);
      expect(output).not.toContain(PASSWORD);
    }
  });
});
