import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type { Money } from "../../gen/ts/google/type/money_pb.js";

const NANOS = 1_000_000_000;

export function moneyValue(money: Money | undefined): number {
  return money ? Number(money.units) + money.nanos / NANOS : 0;
}

/** "$0.000123", with enough digits for the small sums single calls cost. */
export function formatMoney(money: Money | undefined, currency = money?.currencyCode || "USD"): string {
  return formatAmount(moneyValue(money), currency);
}

export function formatAmount(value: number, currency = "USD"): string {
  const digits = value === 0 ? 2 : Math.abs(value) < 0.01 ? 6 : Math.abs(value) < 1 ? 4 : 2;
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${currency}`;
  }
}

export function durationMs(duration: Duration | undefined): number | undefined {
  return duration ? Number(duration.seconds) * 1000 + duration.nanos / 1e6 : undefined;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatDuration(duration: Duration | undefined): string {
  return formatMs(durationMs(duration));
}

export function timestampDate(timestamp: Timestamp | undefined): Date | undefined {
  return timestamp ? new Date(Number(timestamp.seconds) * 1000 + timestamp.nanos / 1e6) : undefined;
}

export function formatTime(timestamp: Timestamp | undefined): string {
  const date = timestampDate(timestamp);
  return date ? date.toLocaleTimeString("en-GB", { hour12: false }) : "–";
}

export function formatDateTime(timestamp: Timestamp | undefined): string {
  const date = timestampDate(timestamp);
  return date ? date.toLocaleString("en-GB", { hour12: false, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "–";
}

const COUNT = new Intl.NumberFormat("en-US");
export function formatCount(value: bigint | number): string {
  return COUNT.format(value);
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(part === 0 || part === whole ? 0 : 1)}%` : "–";
}
