import { Counter, Gauge, type Registry } from "prom-client";

/** How many keys a provider's pool has in each state, for the keys gauge. */
export interface PoolCensus {
  provider: string;
  states: Record<string, number>;
}

/**
 * Metrics of key pools and secret sources, on the gateway's registry. Labels
 * carry provider names, key ids and state names only: never a secret.
 */
export class SecretMetrics {
  private census: () => Iterable<PoolCensus> = () => [];

  readonly keyTransitions: Counter<"provider" | "from" | "to" | "cause">;
  readonly credentialRejections: Counter<"provider" | "credential">;
  readonly disabledKeyRefusals: Counter<"provider">;
  readonly fleetActionsNotApplied: Counter<"provider" | "action">;
  readonly keys: Gauge<"provider" | "state">;
  readonly vaultRequests: Counter<"operation" | "result">;
  readonly sourceUp: Gauge<"source">;

  constructor(registry: Registry) {
    const census = () => this.census();
    this.keyTransitions = new Counter({
      name: "switchboard_key_transitions_total",
      help: "Vendor key state changes by provider, from and to state, and cause (staged, promoted, rate_limited, failing, credential_rejected, …).",
      labelNames: ["provider", "from", "to", "cause"] as const,
      registers: [registry],
    });
    this.credentialRejections = new Counter({
      name: "switchboard_key_credential_rejections_total",
      help: "Attempts whose vendor key the vendor rejected (401/403, invalid key), by provider and key id.",
      labelNames: ["provider", "credential"] as const,
      registers: [registry],
    });
    this.disabledKeyRefusals = new Counter({
      name: "switchboard_disabled_key_refusals_total",
      help: "New versions at a secret source not staged because they hold a disabled key's secret (DisableKey, or deleted at its source), by provider.",
      labelNames: ["provider"] as const,
      registers: [registry],
    });
    this.fleetActionsNotApplied = new Counter({
      name: "switchboard_fleet_actions_not_applied_total",
      help: "Operators' key-pool actions (stage, promote, rollback, disable) taken on another instance that do not apply on this one (a staged secret it cannot read, a key it does not have), by provider and action: its keys differ from the fleet's (/healthz names them under key_pools).",
      labelNames: ["provider", "action"] as const,
      registers: [registry],
    });
    this.keys = new Gauge({
      name: "switchboard_keys",
      help: "Vendor keys in each state, by provider.",
      labelNames: ["provider", "state"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const pool of census()) {
          for (const [state, count] of Object.entries(pool.states)) this.set({ provider: pool.provider, state }, count);
        }
      },
    });
    this.vaultRequests = new Counter({
      name: "switchboard_vault_requests_total",
      help: "Requests to Vault by operation (login, lookup, renew, read) and result (ok, error).",
      labelNames: ["operation", "result"] as const,
      registers: [registry],
    });
    this.sourceUp = new Gauge({
      name: "switchboard_secret_source_up",
      help: "1 while a polled secret source (vault, aws-sm) answers, 0 while the gateway serves its last known secrets.",
      labelNames: ["source"] as const,
      registers: [registry],
    });
  }

  /** Where the keys gauge reads the pools' states from at each scrape. */
  countKeysWith(census: () => Iterable<PoolCensus>): void {
    this.census = census;
  }
}
