import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { FleetLink } from "../redis/fleet-link.js";
import type { StageRequest } from "./provider-pools.js";

/** An operator's key-pool action, as the other instances receive it (references only, never a secret). */
export type PoolAction =
  | { op: "stage"; provider: string; request: StageRequest }
  | { op: "promote" | "rollback" | "disable"; provider: string; credentialId: string; reason: string };

const CHANNEL = "pools:actions";

/**
 * Carries operators' key-pool actions (StageKey, PromoteKey, RollbackKey,
 * DisableKey) to every instance over Redis pub/sub, so an admin call that
 * reaches one instance behind the load balancer acts on the whole fleet.
 * Each instance applies what others publish; its own messages come back and
 * are skipped. Without Redis there is one instance, and nothing to carry.
 * Messages are sealed (FleetLink): whoever can publish to the Redis cannot
 * disable, promote, roll back or stage a key.
 */
export class PoolActionBus {
  private readonly origin = randomUUID();

  constructor(
    private readonly link: FleetLink,
    private readonly logger: Logger,
  ) {}

  /** `resync` runs each time the subscription is made again: actions published meanwhile were missed. */
  async start(apply: (action: PoolAction) => Promise<void>, resync: () => void): Promise<void> {
    await this.link.subscribe(
      CHANNEL,
      (message) => {
        let envelope: { origin: string; action: PoolAction };
        try {
          envelope = JSON.parse(message) as typeof envelope;
        } catch {
          this.logger.warn("ignored a key-pool action that is not JSON");
          return;
        }
        if (envelope.origin === this.origin) return;
        apply(envelope.action).catch((err: Error) => this.logger.error({ action: envelope.action.op, provider: envelope.action.provider, error: err.message }, "could not apply another instance's key-pool action"));
      },
      resync,
      "key-pool actions act only on the instance that receives them (disables reach the others through the store's poll)",
    );
  }

  /** Tells the other instances; false when Redis did not take the message (logged: this instance has acted either way). */
  async publish(action: PoolAction): Promise<boolean> {
    try {
      await this.link.publish(CHANNEL, JSON.stringify({ origin: this.origin, action }));
      return true;
    } catch (err) {
      this.logger.error({ action: action.op, provider: action.provider, error: (err as Error).message }, "could not tell the other instances about a key-pool action: it applies here only");
      return false;
    }
  }
}
