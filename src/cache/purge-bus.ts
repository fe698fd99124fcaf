import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { FleetLink } from "../redis/fleet-link.js";
import type { PurgeFilter } from "./redis-tier.js";

const CHANNEL = "cache:purged";

/**
 * Tells every instance of a purge, so each drops the matching entries from
 * its own memory (Redis's are gone already); its own messages come back and
 * are skipped. Messages a subscription lost while it was down cannot be
 * known, so an instance empties its memory each time it subscribes again
 * (L2 fills it back as it is read). Messages are sealed (FleetLink): no one
 * else can empty every instance's memory.
 */
export class PurgeBus {
  private readonly origin = randomUUID();

  constructor(
    private readonly link: FleetLink,
    private readonly logger: Logger,
  ) {}

  async start(purge: (filter: PurgeFilter) => void): Promise<void> {
    await this.link.subscribe(
      CHANNEL,
      (message) => {
        let envelope: { origin: string; filter: PurgeFilter };
        try {
          envelope = JSON.parse(message) as typeof envelope;
        } catch {
          this.logger.warn("ignored a cache purge message that is not JSON");
          return;
        }
        if (envelope.origin !== this.origin) purge(envelope.filter);
      },
      // An empty filter matches every entry.
      () => purge({}),
      "a purge on another instance leaves this one's in-memory copies until they expire",
    );
  }

  async publish(filter: PurgeFilter): Promise<void> {
    await this.link.publish(CHANNEL, JSON.stringify({ origin: this.origin, filter }));
  }
}
