import type { Logger } from "../observability/logger.js";

/**
 * A warning about one client address that may repeat in a flood (a session
 * ended for its resets or a protocol flood): logged at most once per address
 * per interval, naming the address, with how many times it happened since
 * that address's last line. ThrottledWarning's per-address twin: one
 * flooding address does not hide another's line.
 */
export class PerClientWarning {
  private readonly clients = new Map<string, { loggedAt: number; unlogged: number; fields: Record<string, unknown> }>();

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(client: string, fields: Record<string, unknown>): void {
    const seen = this.clients.get(client) ?? { loggedAt: -Infinity, unlogged: 0, fields };
    seen.unlogged++;
    seen.fields = fields;
    this.clients.set(client, seen);
    if (this.now() - seen.loggedAt >= this.intervalMs) this.flush(client, seen);
  }

  /** Logs what addresses noted since their last line once their interval has passed; forgets those with nothing new, so that the map does not grow. */
  prune(): void {
    for (const [client, seen] of this.clients) {
      if (this.now() - seen.loggedAt < this.intervalMs) continue;
      if (seen.unlogged > 0) this.flush(client, seen);
      else this.clients.delete(client);
    }
  }

  private flush(client: string, seen: { loggedAt: number; unlogged: number; fields: Record<string, unknown> }): void {
    this.logger.warn(
      { ...seen.fields, client, occurrences: seen.unlogged },
      `${this.message} (occurrences counted since this address's last such line; logged at most every ${this.intervalMs / 1000} s per address)`,
    );
    seen.unlogged = 0;
    seen.loggedAt = this.now();
  }
}
