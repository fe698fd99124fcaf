import type { Counter } from "prom-client";
import type { Logger } from "../observability/logger.js";

/** One warning per operation in this long at most: an outage must not flood the log. */
const LOG_EVERY_MS = 10_000;

/**
 * Failed Redis commands, counted by operation and logged (throttled). Every
 * caller then applies its failure policy; none may swallow an error silently,
 * since a lost command can let a key past its limit or budget.
 */
export class RedisErrors {
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly counter: Counter<"operation">,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  report(operation: string, err: unknown, consequence: string): void {
    this.counter.inc({ operation });
    const now = this.now();
    if (now - (this.lastLogged.get(operation) ?? -Infinity) < LOG_EVERY_MS) return;
    this.lastLogged.set(operation, now);
    this.logger.warn({ operation, error: (err as Error).message }, `Redis ${operation} failed; ${consequence}`);
  }
}
