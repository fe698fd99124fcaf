import type { Logger } from "../observability/logger.js";
import type { FleetLink } from "../redis/fleet-link.js";

const CHANNEL = "secrets:db-changed";

/**
 * Tells every instance sharing the database that a `db:` secret has a new
 * version, over the Redis the key-pool actions travel on, so each checks it
 * at once instead of at its next poll. A notice carries the name and the
 * version, never the secret; each instance reads the row itself. Notices
 * are sealed (FleetLink), so no one else can make every instance read.
 */
export class DbSecretNotices {
  constructor(
    private readonly link: FleetLink,
    private readonly logger: Logger,
  ) {}

  async start(onChange: (name: string) => void): Promise<void> {
    await this.link.subscribe(
      CHANNEL,
      (message) => {
        try {
          const { name } = JSON.parse(message) as { name: unknown };
          if (typeof name === "string") onChange(name);
        } catch {
          this.logger.warn("ignored a database secret notice that is not JSON");
        }
      },
      () => {},
      "new database secret versions arrive through the poll (secrets.db.refresh_ms)",
    );
  }

  /** A failure is logged: the other instances still see the version at their next poll. */
  async publish(name: string, version: number): Promise<void> {
    try {
      await this.link.publish(CHANNEL, JSON.stringify({ name, version }));
    } catch (err) {
      this.logger.warn({ secret: name, version, error: (err as Error).message }, "could not tell the other instances about a database secret: they see it at their next poll");
    }
  }
}
