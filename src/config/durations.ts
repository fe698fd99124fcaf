import { z } from "zod";

/**
 * The longest delay Node's timers take (setTimeout, setInterval,
 * AbortSignal.timeout, a server's timeouts): given more, they fire after 1 ms
 * with a TimeoutOverflowWarning, so a timeout of "a month" would time out at
 * once and a refresh every month would run a thousand times a second.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const TOO_LONG = `must be at most ${MAX_TIMER_MS} (about 24.8 days: Node's timers take no longer)`;

/** A whole number of milliseconds that ends up in a Node timer, from 0; callers add `.positive()` or a tighter `.max()`. */
export const timerMs = z.number().int().min(0).max(MAX_TIMER_MS, TOO_LONG);

/** A timer duration a Node timer waits `factor` times over (several attempts under one deadline): at most MAX_TIMER_MS in all. */
export function timerMsTimes(factor: number): z.ZodNumber {
  const most = Math.floor(MAX_TIMER_MS / factor);
  return z.number().int().min(0).max(most, `must be at most ${most} (${factor} times that is about 24.8 days: Node's timers take no longer)`);
}
