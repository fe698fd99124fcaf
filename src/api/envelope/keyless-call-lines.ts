import type { Logger } from "../../observability/logger.js";

/**
 * How many call lines of calls no gateway key authenticated are written a
 * minute per reason: refusals (no key, a wrong, revoked or expired one; a
 * path, method or content type refused before the key was checked) and
 * calls served without a key (health checks, reflection). The rest are left
 * out, and counted in one line a minute per reason: such calls cost their
 * sender nothing (a scanner, a probe every few seconds), and each line costs
 * the operator's log disk or bill.
 */
export const KEYLESS_CALL_LINES_PER_MINUTE = 10;

const MINUTE_MS = 60_000;

/** Reasons tracked apart at most: the gateway raises fewer; any beyond share one count, so the map stays bounded. */
const MAX_REASONS = 100;
const OTHER_REASONS = "OTHER";

interface Minute {
  startedAt: number;
  written: number;
  leftOut: number;
  /** The first line left out, for the count's line to show what was called (a refused path is in `error`). */
  sample?: Record<string, unknown>;
  /** Writes the count once the minute is over, should no later call of the reason come to write it. */
  timer?: NodeJS.Timeout;
}

/**
 * Which keyless calls keep their call line: the first
 * KEYLESS_CALL_LINES_PER_MINUTE a minute of each reason (a refusal's
 * ErrorInfo reason or status; a served call's method, so that probes do not
 * use up the lines of refusals), then none until the minute is over, when
 * one line says how many were left out, with the reason and a sample.
 * Metrics, spans and the live feed still see every call; an authenticated
 * call's line, or a bug's, is never asked about (see call-log.ts).
 */
export class KeylessCallLines {
  private readonly minutes = new Map<string, Minute>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether this call's line is to be written; when not, it is counted, and its fields kept if it is the minute's first left out. */
  admits(reason: string, line: Record<string, unknown>): boolean {
    const key = this.minutes.has(reason) || this.minutes.size < MAX_REASONS ? reason : OTHER_REASONS;
    const now = this.now();
    let minute = this.minutes.get(key);
    if (minute && now - minute.startedAt >= MINUTE_MS) {
      this.close(key, minute);
      minute = undefined;
    }
    if (!minute) {
      minute = { startedAt: now, written: 0, leftOut: 0 };
      this.minutes.set(key, minute);
    }
    if (minute.written < KEYLESS_CALL_LINES_PER_MINUTE) {
      minute.written++;
      return true;
    }
    if (minute.leftOut++ === 0) {
      minute.sample = sampleOf(line);
      const ended = minute;
      minute.timer = setTimeout(() => this.close(key, ended), minute.startedAt + MINUTE_MS - now).unref();
    }
    return false;
  }

  /** Ends a reason's minute, writing how many of its lines were left out (once: a timer and a later call may both end it). */
  private close(reason: string, minute: Minute): void {
    clearTimeout(minute.timer);
    if (this.minutes.get(reason) === minute) this.minutes.delete(reason);
    if (minute.leftOut === 0) return;
    // At the level of the lines it stands for: refusals' counts are warnings, served calls' (health probes) are not.
    const level = minute.sample?.status === "ok" ? "info" : "warn";
    this.logger[level](
      { reason, leftOut: minute.leftOut, sample: minute.sample },
      `call lines of calls no gateway key authenticated were left out (the first ${KEYLESS_CALL_LINES_PER_MINUTE} a minute per reason are written; every one is counted in switchboard_requests_total)`,
    );
    minute.leftOut = 0;
  }
}

/** What the count's line shows of a left-out call: what was asked and how it ended, already masked as its own line was. */
function sampleOf(line: Record<string, unknown>): Record<string, unknown> {
  const { requestId, surface, method, status, error } = line;
  return { requestId, surface, method, status, error };
}

const perLogger = new WeakMap<Logger, KeylessCallLines>();

/**
 * A gateway's keyless call lines, one per logger (the gateway's: every
 * surface's calls share it), made on first use. `now` is the clock of the
 * first use only: a test gives its own before the gateway's first call.
 */
export function keylessCallLines(logger: Logger, now?: () => number): KeylessCallLines {
  let lines = perLogger.get(logger);
  if (!lines) {
    lines = new KeylessCallLines(logger, now);
    perLogger.set(logger, lines);
  }
  return lines;
}
