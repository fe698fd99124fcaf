/**
 * Where the gateway's Redis is, in one of three shapes. `REDIS_URL` names all
 * three (the scheme says which); `REDIS_CLUSTER_NODES` is a list-only way to
 * name a cluster, for deployment tools that build lists more easily than URLs.
 *
 *   redis://[user:password@]host[:port][/db]                     one Redis (rediss:// for TLS)
 *   redis+cluster://[user:password@]host:port[,host:port…]       a Redis Cluster: a few nodes to start from,
 *                                                                the rest are discovered (rediss+cluster:// for TLS)
 *   redis+sentinel://[user:password@]host:port[,host:port…]/master-name[/db][?sentinel_username=…&sentinel_password=…]
 *                                                                the master named `master-name`, as these Sentinels
 *                                                                report it (rediss+sentinel:// for TLS, to Sentinels too)
 *
 * The user and password are those of the data nodes (percent-encoded); a
 * Sentinel that wants its own credentials gets them from the query. Every
 * shape is parsed here, strictly, and ioredis is handed the parts, never the
 * URL: its own parser (Node's legacy url.parse) prints a URL it cannot read,
 * password and all, and falls back to 127.0.0.1:6379.
 */
export type RedisTarget =
  | { kind: "single"; node: RedisAddress; db: number; auth: RedisAuth; tls: boolean }
  | { kind: "cluster"; nodes: RedisAddress[]; auth: RedisAuth; tls: boolean }
  | { kind: "sentinel"; sentinels: RedisAddress[]; masterName: string; db: number; auth: RedisAuth; sentinelAuth: RedisAuth; tls: boolean };

export interface RedisAddress {
  host: string;
  port: number;
}

export interface RedisAuth {
  username?: string;
  password?: string;
}

/** A Redis address that cannot be used; the message never repeats a password. */
export class RedisUrlError extends Error {
  constructor(
    readonly variable: "REDIS_URL" | "REDIS_CLUSTER_NODES",
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_PORT = { single: 6379, cluster: 6379, sentinel: 26379 } as const;
const SHAPES = "redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://";
const SCHEME = /^(rediss?)(?:\+(cluster|sentinel))?:\/\//;
const URL_PARTS = /^(rediss?)(?:\+(cluster|sentinel))?:\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/;

/** The one URL the environment names, or undefined when neither variable is set. */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.REDIS_URL?.trim();
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  if (url && nodes) throw new RedisUrlError("REDIS_CLUSTER_NODES", "set REDIS_URL or REDIS_CLUSTER_NODES, not both (a cluster with a password: REDIS_URL=redis+cluster://user:password@host:port,…)");
  if (nodes) {
    if (/[@/]/.test(nodes)) throw new RedisUrlError("REDIS_CLUSTER_NODES", "must be host:port pairs separated by commas (credentials go in REDIS_URL=redis+cluster://user:password@host:port,…)");
    return `redis+cluster://${nodes.replace(/\s+/g, "")}`;
  }
  return url || undefined;
}

/** Parses and checks a Redis URL in one of the shapes above; a RedisUrlError (never repeating a password) otherwise. */
export function parseRedisUrl(url: string, variable: RedisUrlError["variable"] = "REDIS_URL"): RedisTarget {
  if (!SCHEME.test(url)) throw new RedisUrlError(variable, `must start with ${SHAPES}`);
  const match = URL_PARTS.exec(url);
  // An @ past the hosts means a user or password cut short by a / ? or #: what was read as hosts is part of it, never to be quoted.
  if (!match || (match[3] === undefined && url.slice(url.indexOf("//") + 2).includes("@"))) {
    throw new RedisUrlError(variable, "names no host, or has a / ? # or @ in its user or password: percent-encode them (%2F, %3F, %23, %40)");
  }
  const [, scheme, kind = "single", userinfo, hostList, path = "", query = ""] = match as unknown as [string, string, "cluster" | "sentinel" | undefined, string | undefined, string, string?, string?];
  if (hostList.includes("@")) throw new RedisUrlError(variable, "has an unencoded @ in its user or password: write it as %40");
  const tls = scheme === "rediss";
  const auth = parseAuth(userinfo, variable);
  const nodes = hostList.split(",").map((entry) => parseAddress(entry, DEFAULT_PORT[kind], variable));
  const params = new URLSearchParams(query);
  if (kind === "single") {
    if (nodes.length > 1) throw new RedisUrlError(variable, "names several hosts: a cluster is redis+cluster://host:port,host:port, Sentinels redis+sentinel://host:port,…/master-name");
    if (path !== "" && path !== "/" && !/^\/\d+$/.test(path)) throw new RedisUrlError(variable, "a path must be a database number (redis://host:6379/2)");
    if ([...params.keys()].length > 0) throw new RedisUrlError(variable, `takes no query parameters (got ${[...params.keys()].join(", ")})`);
    return { kind: "single", node: nodes[0]!, db: path.length > 1 ? Number(path.slice(1)) : 0, auth, tls };
  }
  if (kind === "cluster") {
    if (path !== "" && path !== "/" && path !== "/0") throw new RedisUrlError(variable, "a Redis Cluster has only database 0: leave the path out");
    if ([...params.keys()].length > 0) throw new RedisUrlError(variable, `takes no query parameters for a cluster (got ${[...params.keys()].join(", ")})`);
    return { kind: "cluster", nodes, auth, tls };
  }
  const [, masterName, dbText, ...rest] = path.split("/");
  if (!masterName) throw new RedisUrlError(variable, "must name the Sentinel master after the hosts: redis+sentinel://host:26379,host:26379/mymaster");
  if (rest.length > 0 || (dbText !== undefined && !/^\d+$/.test(dbText))) throw new RedisUrlError(variable, "a Sentinel URL's path is /master-name or /master-name/db (a database number)");
  const unknown = [...params.keys()].filter((name) => name !== "sentinel_username" && name !== "sentinel_password");
  if (unknown.length > 0) throw new RedisUrlError(variable, `unknown query parameter ${unknown.join(", ")} (known: sentinel_username, sentinel_password)`);
  return {
    kind: "sentinel",
    sentinels: nodes,
    masterName: decoded(masterName, () => new RedisUrlError(variable, "has a Sentinel master name that is not valid percent-encoding")),
    db: dbText === undefined ? 0 : Number(dbText),
    auth,
    sentinelAuth: { username: params.get("sentinel_username") ?? undefined, password: params.get("sentinel_password") ?? undefined },
    tls,
  };
}

function parseAuth(userinfo: string | undefined, variable: RedisUrlError["variable"]): RedisAuth {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(":");
  const refusal = () => new RedisUrlError(variable, "has a user or password that is not valid percent-encoding (write % itself as %25)");
  const username = decoded(colon === -1 ? userinfo : userinfo.slice(0, colon), refusal);
  const password = colon === -1 ? undefined : decoded(userinfo.slice(colon + 1), refusal);
  return { username: username || undefined, password: password || undefined };
}

/** A percent-encoded part, decoded; what does not decode is refused with `refusal`, which must not quote it. */
function decoded(text: string, refusal: () => RedisUrlError): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw refusal();
  }
}

function parseAddress(entry: string, defaultPort: number, variable: RedisUrlError["variable"]): RedisAddress {
  // host, host:port, [v6], [v6]:port
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d+))?$/.exec(entry);
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || !(port >= 1 && port <= 65535)) throw new RedisUrlError(variable, `"${entry}" is not host:port`);
  return { host: match[1] ?? match[2]!, port };
}
