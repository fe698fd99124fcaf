import { timestampFromMs } from "@bufbuild/protobuf/wkt";

const DAY_MS = 86_400_000;

/** Midnight UTC today (budgets and usage days are UTC). */
export function startOfTodayUtc(now = Date.now()): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}

export function startOfMonthUtc(now = Date.now()): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** `ms` rounded down to a multiple of `step`: a query's input that stays the same between refreshes. */
export function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}

export const ts = timestampFromMs;
