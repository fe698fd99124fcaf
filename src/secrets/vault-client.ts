import type Vault from "hashi-vault-js";
import type { Logger } from "../observability/logger.js";
import { MAX_ANSWER_BYTES } from "./answer-size-limit.js";
import type { SecretMetrics } from "./secret-metrics.js";
import { sourceCause } from "./source-cause.js";
import { isVersionNumber } from "./version-identity.js";
import { deletedVersionOf, scrubVaultError, VaultError } from "./vault-error.js";

/** How the gateway logs in to Vault. */
export type VaultAuth =
  /** VAULT_TOKEN: used as is, renewed while renewable; it cannot be replaced once it reaches its max TTL. */
  | { method: "token"; token: string }
  /** VAULT_ROLE_ID + VAULT_SECRET_ID: a fresh token at each login, so the gateway logs in again when one reaches its max TTL. */
  | { method: "approle"; roleId: string; secretId: string; mount: string };

/** Says a part is degraded (with its cause in a few words, source-cause.ts: /healthz shows it) or well again (undefined). */
export type DegradedReporter = (component: string, problem: string | undefined) => void;

export interface VaultClientOptions {
  /** VAULT_ADDR, without "/v1". */
  address: string;
  namespace?: string;
  auth: VaultAuth;
  /** Bounds each request, from its start to its answer's last byte. */
  timeoutMs: number;
  /** A CA bundle for a Vault with a private CA (VAULT_CACERT). */
  caCertFile?: string;
  logger: Logger;
  metrics?: SecretMetrics;
  reportDegraded?: DegradedReporter;
  /** Renew (or log in again) when this fraction of the token's lease has passed. */
  renewFraction?: number;
  now?: () => number;
}

/** A KV v2 secret at one version. */
export interface KvSecret {
  version: number;
  data: Record<string, unknown>;
}

/** What hashi-vault-js resolves to (its typings say `Object`). */
interface AuthAnswer {
  client_token: string;
  lease_duration: number;
  renewable: boolean;
}
interface LookupAnswer {
  ttl: number;
  creation_ttl?: number;
  renewable: boolean;
}
interface KvAnswer {
  data?: Record<string, unknown> | null;
  /** `version` as Vault answered it: checked before use (isVersionNumber). */
  metadata?: { version?: unknown; deletion_time?: string; destroyed?: boolean };
}

const MAX_RETRY_MS = 30_000;
/** While logins keep failing: the first failure is logged, then a reminder at most this often, then the recovery. */
const LOGIN_REMINDER_MS = 5 * 60_000;

/**
 * The gateway's Vault session, through hashi-vault-js: logs in (token or
 * AppRole), renews the token before its lease ends, logs in again (AppRole)
 * when the token reaches its max TTL or is revoked, and reads KV v2 secrets.
 * Every error leaving this class is a scrubbed VaultError: the token, the
 * role id and the secret id never appear in a message or a log line.
 */
export class VaultClient {
  /** hashi-vault-js, loaded on first use: it brings axios, about 10 MB that a gateway never calling Vault does without. */
  private vault: Promise<Vault> | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly renewFraction: number;
  private token: string | undefined;
  /** The TTL asked for at each renewal: the token's own TTL when it was issued. */
  private increment = 0;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = 1_000;
  private leaseUnreadableLogged = false;
  private loggingIn: Promise<void> | undefined;
  private closed = false;
  /** Logins failing in a row (each poll and each retry tries one): since when, how many, when last logged. */
  private loginTrouble: { since: number; failures: number; loggedAt: number } | undefined;

  constructor(private readonly options: VaultClientOptions) {
    this.logger = options.logger.child({ component: "vault" });
    this.now = options.now ?? Date.now;
    this.renewFraction = options.renewFraction ?? 2 / 3;
  }

  get authMethod(): VaultAuth["method"] {
    return this.options.auth.method;
  }

  private client(): Promise<Vault> {
    const { address, timeoutMs, namespace, caCertFile } = this.options;
    this.vault ??= import("hashi-vault-js").then(({ default: Vault }) => {
      const vault = new Vault({ baseUrl: `${address}/v1`, timeout: timeoutMs, namespace, https: address.startsWith("https:") && caCertFile !== undefined, cacert: caCertFile });
      const axios = vault.instance as AxiosInstanceSettings | undefined;
      if (axios) bound(axios, timeoutMs);
      return vault;
    });
    return this.vault;
  }

  /** Logs in (or looks the token up) unless a session exists; concurrent callers share one login. */
  async start(): Promise<void> {
    if (this.token) return;
    await (this.loggingIn ?? this.login());
  }

  /** Reads a KV v2 secret at `mount`/`path`: its latest version, or the one asked for. */
  async readKv(mount: string, path: string, version?: number): Promise<KvSecret> {
    await this.start();
    const operation = version === undefined ? `read ${mount}/${path}` : `read ${mount}/${path} version ${version}`;
    let answer: KvAnswer;
    try {
      answer = await this.call("read", operation, (vault, token) => vault.readKVSecret(token, path, version, mount) as Promise<KvAnswer>);
    } catch (err) {
      if (!(err instanceof VaultError) || !err.forbidden || !(await this.tokenExpired())) throw err;
      // The token expired or was revoked under us: a fresh login, then the read once more.
      await this.login();
      answer = await this.call("read", operation, (vault, token) => vault.readKVSecret(token, path, version, mount) as Promise<KvAnswer>);
    }
    const read = answer.metadata?.version;
    if (!answer.data || read === undefined) {
      // Vault answers a deleted version with a 404 (vault-error.ts); a proxy or an older Vault may answer 200 with the same metadata: the same definite answer.
      const deleted = deletedVersionOf(answer.metadata);
      if (deleted) throw new VaultError(operation, `Vault ${operation} failed: version ${deleted.version} is ${deleted.destroyed ? "destroyed" : "deleted"}`, 404, undefined, { deleted });
      // Anything else (a proxy's page, a KV version 1 mount) says nothing about the secret: an outage, the last known version served on.
      throw new VaultError(operation, `Vault ${operation} failed: the answer holds no KV version 2 secret (is VAULT_ADDR right, and the mount KV version 2?)`);
    }
    if (!isVersionNumber(read)) {
      // -5, 1.5, 1e21 or "3" names no version, and one lower than the keys in use must not pass for an older one: a malformed
      // answer (an outage, the last known version served on). The field is named, never what it held.
      throw new VaultError(operation, `Vault ${operation} failed: the answer's metadata.version is no version number (a positive whole number)`);
    }
    return { version: read, data: answer.data };
  }

  /**
   * One call to another part of Vault's HTTP API on this session (Transit):
   * `run` gets the token and throws what fetch or the answer gave; the error
   * is counted and scrubbed like a KV read's.
   */
  async withSession<T>(metric: string, operation: string, run: (token: string) => Promise<T>): Promise<T> {
    await this.start();
    return this.call(metric, operation, (_vault, token) => run(token));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Logs in with AppRole, or looks the given token up to learn its lease; then schedules the renewal. */
  private login(): Promise<void> {
    this.loggingIn ??= (async () => {
      try {
        const auth = this.options.auth;
        if (auth.method === "approle") {
          const answer = await this.call("login", "AppRole login", (vault) => vault.loginWithAppRole(auth.roleId, auth.secretId, `auth/${auth.mount}`) as Promise<AuthAnswer>, false);
          this.token = answer.client_token;
          this.increment = answer.lease_duration;
          this.logger.info({ ttlSeconds: answer.lease_duration, renewable: answer.renewable }, "logged in to Vault with AppRole");
          this.schedule(answer.lease_duration, answer.renewable);
        } else {
          this.token = auth.token;
          const info = await this.call("lookup", "token lookup", (vault, token) => vault.lookupSelfToken(token) as Promise<LookupAnswer>);
          this.increment = info.creation_ttl || info.ttl;
          this.logger.info({ ttlSeconds: info.ttl, renewable: info.renewable }, info.ttl > 0 ? "using the Vault token from VAULT_TOKEN" : "using a Vault token that never expires");
          this.schedule(info.ttl, info.renewable);
        }
        this.retryMs = 1_000;
        this.options.reportDegraded?.("vault.auth", undefined);
        this.loginRecovered();
      } catch (err) {
        const error = err instanceof VaultError ? err : scrubVaultError(err, "login", this.knownSecrets());
        this.options.reportDegraded?.("vault.auth", sourceCause(error));
        this.loginFailed(error.message);
        this.retryLater(() => this.login());
        throw error;
      } finally {
        this.loggingIn = undefined;
      }
    })();
    return this.loggingIn;
  }

  /** Logs a failed login once per failing spell, and a reminder (with the count) at most every LOGIN_REMINDER_MS: every poll tries one. */
  private loginFailed(error: string): void {
    const now = this.now();
    const trouble = this.loginTrouble;
    if (!trouble) {
      this.loginTrouble = { since: now, failures: 1, loggedAt: now };
      this.logger.error({ error }, "Vault login failed; serving the last known secrets, retrying (logged again at recovery, or as a reminder every 5 min)");
      return;
    }
    trouble.failures++;
    if (now - trouble.loggedAt < LOGIN_REMINDER_MS) return;
    trouble.loggedAt = now;
    this.logger.error({ error, failures: trouble.failures, failingForMs: now - trouble.since }, "Vault login still fails");
  }

  private loginRecovered(): void {
    const trouble = this.loginTrouble;
    if (!trouble) return;
    this.loginTrouble = undefined;
    this.logger.info({ failures: trouble.failures, failingForMs: this.now() - trouble.since }, "Vault login works again");
  }

  /** Plans the next renewal (or, for a token that cannot be renewed, the next login) at a fraction of the lease. */
  private schedule(leaseSeconds: number, renewable: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    // A lease that is not a number (a proxy or a broken Vault answering without ttl / lease_duration) would make the delay NaN,
    // which Node takes as 1 ms: a renewal loop. Such a token is taken as one that never expires, as a lease of 0 says.
    if (typeof leaseSeconds !== "number" || !Number.isFinite(leaseSeconds)) return this.leaseUnreadable(typeof leaseSeconds);
    if (leaseSeconds <= 0) return; // a token that never expires
    const delay = Math.max(250, leaseSeconds * 1000 * this.renewFraction);
    if (renewable) {
      this.timer = setTimer(() => void this.renew(), delay);
    } else if (this.options.auth.method === "approle") {
      this.timer = setTimer(() => void this.login().catch(() => undefined), delay);
    } else {
      this.logger.warn({ expiresAt: new Date(this.now() + leaseSeconds * 1000).toISOString() }, "the Vault token cannot be renewed; the gateway keeps its last known secrets once it expires");
    }
  }

  /** Says once per client that Vault's answer held no readable lease (its type only: the answer carries the token). */
  private leaseUnreadable(answered: string): void {
    if (this.leaseUnreadableLogged) return;
    this.leaseUnreadableLogged = true;
    this.logger.warn({ leaseType: answered }, "Vault answered without a readable token lease (ttl or lease_duration); the token is taken as one that never expires and is not renewed");
  }

  private async renew(): Promise<void> {
    try {
      const answer = await this.call("renew", "token renewal", (vault, token) => vault.renewSelfToken(token, `${this.increment}s`) as Promise<AuthAnswer>);
      this.retryMs = 1_000;
      this.options.reportDegraded?.("vault.auth", undefined);
      if (answer.lease_duration < this.increment) {
        // Vault capped the lease: the token reaches its max TTL at the end of this one.
        if (this.options.auth.method === "approle") {
          this.logger.info({ ttlSeconds: answer.lease_duration }, "the Vault token reaches its max TTL soon; logging in again before it does");
          this.timer = setTimer(() => void this.login().catch(() => undefined), Math.max(250, answer.lease_duration * 1000 * this.renewFraction));
        } else {
          this.logger.warn(
            { expiresAt: new Date(this.now() + answer.lease_duration * 1000).toISOString() },
            "the Vault token reaches its max TTL and cannot be renewed past it; use AppRole (VAULT_ROLE_ID, VAULT_SECRET_ID) to log in again automatically",
          );
          if (this.timer) clearTimeout(this.timer);
          this.timer = undefined;
        }
        return;
      }
      this.logger.debug({ ttlSeconds: answer.lease_duration }, "renewed the Vault token");
      this.schedule(answer.lease_duration, answer.renewable);
    } catch (err) {
      const error = err as VaultError;
      if (this.options.auth.method === "approle") {
        this.logger.warn({ error: error.message }, "could not renew the Vault token; logging in again");
        await this.login().catch(() => undefined);
        return;
      }
      this.options.reportDegraded?.("vault.auth", sourceCause(error));
      this.logger.error({ error: error.message }, "could not renew the Vault token");
      if (!error.forbidden) this.retryLater(() => this.renew());
    }
  }

  /** Whether the current token is no longer valid (as opposed to lacking a policy). */
  private async tokenExpired(): Promise<boolean> {
    if (this.options.auth.method !== "approle") return false;
    try {
      await this.call("lookup", "token lookup", (vault, token) => vault.lookupSelfToken(token) as Promise<LookupAnswer>);
      return false;
    } catch (err) {
      return err instanceof VaultError && err.forbidden;
    }
  }

  private retryLater(action: () => Promise<void>): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.timer = setTimer(() => void action().catch(() => undefined), delay);
  }

  /** Runs one hashi-vault-js call: counts it, and scrubs whatever it throws. */
  private async call<T>(metric: string, operation: string, run: (vault: Vault, token: string) => Promise<T>, needsToken = true): Promise<T> {
    if (needsToken && !this.token) throw new VaultError(operation, `Vault ${operation} failed: not logged in`);
    try {
      const result = await run(await this.client(), this.token ?? "");
      this.options.metrics?.vaultRequests.inc({ operation: metric, result: "ok" });
      return result;
    } catch (err) {
      this.options.metrics?.vaultRequests.inc({ operation: metric, result: "error" });
      throw scrubVaultError(err, operation, this.knownSecrets());
    }
  }

  private knownSecrets(): (string | undefined)[] {
    const auth = this.options.auth;
    return auth.method === "approle" ? [this.token, auth.roleId, auth.secretId] : [this.token, auth.token];
  }
}

/** The parts of hashi-vault-js's axios instance the gateway sets (its constructor cannot). */
interface AxiosInstanceSettings {
  defaults: { maxContentLength?: number; maxRedirects?: number };
  interceptors: {
    request: { use(onRequest: (config: { signal?: unknown }) => unknown): unknown };
    response: { use(onAnswer: undefined, onError: (err: unknown) => unknown): unknown };
  };
}

/**
 * Bounds every request of hashi-vault-js's axios instance: its answer's size,
 * where it may go, and how long it may take.
 */
function bound(axios: AxiosInstanceSettings, timeoutMs: number): void {
  // Unset, axios buffers an answer of any size whole (scrubVaultError words the refusal).
  axios.defaults.maxContentLength = MAX_ANSWER_BYTES;
  // A redirect is never followed: follow-redirects would send X-Vault-Token (it strips Authorization and Cookie only) and a login's
  // secret id to wherever Location points, and take that host's answer for Vault's. It fails as an outage (vault-error.ts).
  axios.defaults.maxRedirects = 0;
  // axios's `timeout` only times out silence (connecting, then the socket idle): a Vault trickling its answer a byte at a time
  // would hold the start or the poll for good. This deadline covers the whole request, to the answer's last byte.
  axios.interceptors.request.use((config) => {
    config.signal = AbortSignal.timeout(timeoutMs);
    return config;
  });
  axios.interceptors.response.use(undefined, (err) => {
    // Aborted by the deadline (a CanceledError, or the answer's stream cut): worded as axios's own timeout (scrubVaultError).
    const signal = (err as { config?: { signal?: AbortSignal } } | undefined)?.config?.signal;
    if (signal?.aborted && (signal.reason as Error | undefined)?.name === "TimeoutError") (err as { code?: string }).code = "ETIMEDOUT";
    throw err;
  });
}

/** The longest delay setTimeout takes; beyond it Node fires after 1 ms, which would renew a token of a lease over ~37 days in a tight loop. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function setTimer(action: () => void, ms: number): NodeJS.Timeout {
  // Renewing early (after ~24.8 days) is harmless: the renewal asks for the whole lease again.
  const timer = setTimeout(action, Math.min(ms, MAX_TIMER_MS));
  timer.unref();
  return timer;
}
