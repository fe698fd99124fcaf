import type { Logger } from "./logger.js";

/**
 * A warning that may repeat in a flood (refused connections, failed exports,
 * a Redis outage): logged at most once per interval, with how many times it
 * happened since the last such line, so that the flood never floods the log.
 * At `debug` for what is noise unless looked for (requests to paths nothing serves).
 */
export class ThrottledWarning {
  private unlogged = 0;
  private loggedAt = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly level: "warn" | "debug" = "warn",
  ) {}

  /** Counts one occurrence, and logs it when the interval has passed; `fields` is built only then. */
  note(fields: () => Record<string, unknown>): void {
    this.unlogged++;
    const now = this.now();
    if (now - this.loggedAt < this.intervalMs) return;
    this.logger[this.level](
      { ...fields(), occurrences: this.unlogged },
      `${this.message} (occurrences counted since the last such line; logged at most every ${this.intervalMs / 1000} s)`,
    );
    this.unlogged = 0;
    this.loggedAt = now;
  }
}
