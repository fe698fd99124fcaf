import { parseSecretRef, type KeyConfig, type ProviderConfig, type SecretRef } from "../config/config.js";
import type { KeyPoolConfig } from "../config/secrets-config.js";
import type { Logger } from "../observability/logger.js";
import { createCredential } from "./credential.js";
import { KeyPool, KeyPoolError, type KeyView, type PoolEntry } from "./key-pool.js";
import type { SecretMetrics } from "./secret-metrics.js";
import type { SecretResolver, SecretVersion } from "./secret-source.js";

export interface ProviderPoolsDeps {
  resolver: SecretResolver;
  logger: Logger;
  metrics: SecretMetrics;
  rules: KeyPoolConfig;
  now?: () => number;
  random?: () => number;
}

/** What an operator asks for with StageKey. */
export interface StageRequest {
  /** The id within the provider, e.g. "key-2025-06". */
  credentialId: string;
  secretRef: string;
  secondaryRef?: string;
  /** The full credential id it replaces ("openai/primary@v2"). */
  replaces?: string;
  weight?: number;
  share?: number;
  promoteAfter?: number;
}

/** A configured (or staged) key whose secret can change at its source: new versions become canaries. */
interface Slot {
  provider: string;
  id: string;
  secret: SecretRef;
  secondary: SecretRef | undefined;
  weight: number;
  /** Versions already seen (active, staged or rolled back): never staged twice. */
  seen: Set<number>;
}

const CREDENTIAL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const SECRET_REF = /^(env|file|vault):.+/;

/**
 * Every provider's key pool, kept live: keys are read from their secret
 * sources at start-up, each new version a source reports (a new Vault KV
 * version) is staged as a canary replacing the key it updates, and operators
 * stage keys by reference through the AdminService.
 */
export class ProviderPools {
  private readonly pools = new Map<string, KeyPool>();
  private readonly slots = new Map<string, Slot>();
  private readonly unwatch: (() => void)[] = [];
  private readonly logger: Logger;

  private constructor(private readonly deps: ProviderPoolsDeps) {
    this.logger = deps.logger.child({ component: "key-pool" });
    deps.metrics.countKeysWith(() => [...this.pools.values()].map((pool) => pool.census()));
  }

  /** Reads every configured key and builds the pools; a secret that cannot be read stops the start. */
  static async create(providers: readonly ProviderConfig[], deps: ProviderPoolsDeps): Promise<ProviderPools> {
    const pools = new ProviderPools(deps);
    try {
      for (const provider of providers) {
        const entries = await Promise.all(provider.keys.map((key) => pools.load(provider.name, key)));
        pools.pools.set(
          provider.name,
          new KeyPool(provider.name, entries, {
            rules: deps.rules,
            drainMs: provider.timeoutMs,
            logger: deps.logger,
            metrics: deps.metrics,
            now: deps.now,
            random: deps.random,
          }),
        );
        provider.keys.forEach((key, index) => {
          const version = entries[index]!.version;
          const seen = new Set(version === undefined ? [] : [version]);
          if (key.secret) pools.watch({ provider: provider.name, id: key.id, secret: key.secret, secondary: key.secondary, weight: key.weight, seen });
        });
      }
    } catch (err) {
      pools.close();
      throw err;
    }
    return pools;
  }

  pool(provider: string): KeyPool | undefined {
    return this.pools.get(provider);
  }

  names(): string[] {
    return [...this.pools.keys()];
  }

  /** Stages an operator's key as a canary; a Vault reference is watched like a configured one. */
  async stage(provider: string, request: StageRequest): Promise<KeyView> {
    const pool = this.pools.get(provider);
    if (!pool) throw new KeyPoolError("not_found", `no provider "${provider}"`);
    if (!CREDENTIAL_ID.test(request.credentialId)) {
      throw new KeyPoolError("invalid_argument", "credential_id must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", "credential_id");
    }
    const secret = this.ref(request.secretRef, "secret_ref");
    const secondary = request.secondaryRef ? this.ref(request.secondaryRef, "secondary_ref") : undefined;
    let primary: SecretVersion;
    let second: string | undefined;
    try {
      primary = await this.deps.resolver.read(secret);
      second = secondary ? await this.deps.resolver.resolve(secondary) : undefined;
    } catch (err) {
      // Source errors name the reference and the problem, never a secret (Vault's are scrubbed).
      throw new KeyPoolError("failed_precondition", `cannot read the secret: ${(err as Error).message}`);
    }
    const view = pool.stage({
      credential: createCredential(credentialName(provider, request.credentialId, primary.version), primary.value, second),
      weight: request.weight,
      source: secret.raw,
      version: primary.version,
      slot: request.credentialId,
      replaces: request.replaces,
      share: request.share,
      promoteAfter: request.promoteAfter,
    });
    if (!this.slots.has(`${provider}/${request.credentialId}`)) {
      const slot: Slot = { provider, id: request.credentialId, secret, secondary, weight: request.weight ?? 1, seen: new Set() };
      if (primary.version !== undefined) slot.seen.add(primary.version);
      this.watch(slot);
    }
    return view;
  }

  close(): void {
    for (const stop of this.unwatch.splice(0)) stop();
  }

  private async load(provider: string, key: KeyConfig): Promise<PoolEntry> {
    const primary = key.secret ? await this.deps.resolver.read(key.secret) : { value: "" };
    const secondary = key.secondary ? await this.deps.resolver.resolve(key.secondary) : undefined;
    return {
      credential: createCredential(credentialName(provider, key.id, primary.version), primary.value, secondary),
      weight: key.weight,
      source: key.secret?.raw,
      version: primary.version,
      slot: key.id,
    };
  }

  private watch(slot: Slot): void {
    const name = `${slot.provider}/${slot.id}`;
    const stop = this.deps.resolver.watch(slot.secret, (secret) => {
      this.onNewVersion(slot, secret).catch((err: unknown) => {
        this.logger.error({ provider: slot.provider, slot: slot.id, version: secret.version, error: (err as Error).message }, "could not stage a new version of a key");
      });
    });
    if (!stop) return;
    this.slots.set(name, slot);
    this.unwatch.push(stop);
  }

  /** A new version at the source: stage it as a canary replacing the key that fills the slot now. */
  private async onNewVersion(slot: Slot, secret: SecretVersion): Promise<void> {
    if (secret.version === undefined || slot.seen.has(secret.version)) return;
    slot.seen.add(secret.version);
    const pool = this.pools.get(slot.provider)!;
    const secondary = slot.secondary ? await this.deps.resolver.resolve(slot.secondary) : undefined;
    const credential = createCredential(credentialName(slot.provider, slot.id, secret.version), secret.value, secondary);
    const holder = pool.holderOf(slot.id);
    const twin = pool.holding(credential);
    if (twin) {
      this.logger.info({ provider: slot.provider, credential: twin.id, version: secret.version }, "the new version holds the key already in use: nothing to stage");
      return;
    }
    const replaces = holder && holder.state !== "standby" ? holder.id : holder?.canary?.replaces;
    pool.stage({ credential, weight: holder?.weight ?? slot.weight, source: slot.secret.raw, version: secret.version, slot: slot.id, replaces, supersede: true });
  }

  private ref(raw: string, field: string): SecretRef {
    if (!SECRET_REF.test(raw)) {
      throw new KeyPoolError("invalid_argument", `${field} must be a secret reference such as "vault:secret/switchboard/openai#api_key", "file:NAME" or "env:NAME", never the secret itself`, field);
    }
    return parseSecretRef(raw);
  }
}

/** "openai/primary", or "openai/primary@v3" for a versioned (Vault) secret. */
export function credentialName(provider: string, id: string, version: number | undefined): string {
  return version === undefined ? `${provider}/${id}` : `${provider}/${id}@v${version}`;
}
