import { createHash } from "node:crypto";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { hasControlCharacter } from "../../common/control-characters.js";
import { UsageDimension, type GetUsageReportRequest } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import type { UsageGroup, UsageQuery } from "../../usage/ledger-store.js";
import { RECORDED_SURFACES } from "../../usage/recorded-surfaces.js";
import type { FieldViolations } from "../aip/field-violations.js";
import { createPageTokenCodec, readPageSize } from "../aip/pagination.js";
import { KEY_NAME } from "./resource-names.js";

/** Without a start time, a report covers the 30 days before its end (`switchboard usage` without --since too). */
export const DEFAULT_REPORT_WINDOW_MS = 30 * 86_400_000;

const GROUPS: Partial<Record<UsageDimension, UsageGroup>> = {
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.MODEL]: "model",
  [UsageDimension.KEY]: "key",
  [UsageDimension.TEAM]: "team",
  [UsageDimension.SURFACE]: "surface",
  [UsageDimension.DAY]: "day",
};

/**
 * Rows an answer holds: a report grouped by key, model and day has a row for
 * each that called, so 1,000 keys on 20 models over 30 days is 600,000 rows,
 * far past what one message should carry (about 150 bytes a row).
 */
const REPORT_PAGE_SIZES = { default: 1000, max: 5000 };

/**
 * A report's rows are ranked by cost, not by a key a page could end at: a
 * page starts at an offset among them. The token keeps the first page's
 * window (an unset end_time is "now" once, not again on each page) and the
 * digest of the request it continues (AIP-158: a token continues the listing
 * it came from, not another one).
 */
type ReportPosition = [offset: number, startMs: number, endMs: number, request: string];
const REPORT_PAGES = createPageTokenCodec(
  "GetUsageReport",
  (value): value is ReportPosition =>
    Array.isArray(value) &&
    value.length === 4 &&
    Number.isSafeInteger(value[0]) &&
    value[0] > 0 &&
    Number.isSafeInteger(value[1]) &&
    Number.isSafeInteger(value[2]) &&
    value[1] < value[2] &&
    typeof value[3] === "string",
);

/** The years a Timestamp may name (google.protobuf.Timestamp: 0001-01-01 to 9999-12-31, UTC), in seconds. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;
/** The same range in epoch ms: a time an answer gives back outside it cannot be encoded (JSON refuses it), so the caller would get Internal. */
export const EARLIEST_MS = Number(MIN_SECONDS) * 1000;
export const LATEST_MS = Number(MAX_SECONDS) * 1000 + 999;

/** Whether an answer can carry `ms` as a google.protobuf.Timestamp. */
export function isTimestampMs(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/**
 * A report window's end in epoch ms: the request's time, or `fallback` when
 * unset. A Timestamp outside its own range (or with nanos past a second) is
 * a violation: the ledger's BIGINT and a JavaScript number hold every time
 * within it, and nothing outside.
 */
export function readTime(time: Timestamp | undefined, field: string, v: FieldViolations, fallback: number): number {
  if (!time) return fallback;
  if (time.seconds < MIN_SECONDS || time.seconds > MAX_SECONDS || time.nanos < 0 || time.nanos > 999_999_999) {
    v.add(field, "must be a time from 0001-01-01 to 9999-12-31 (seconds and nanos as google.protobuf.Timestamp has them)");
    return fallback;
  }
  // Rounded to the millisecond, a time in 9999-12-31's last half millisecond would be one past the last a Timestamp names.
  return Math.min(timestampMs(time), LATEST_MS);
}

/** A report's query: one page of its rows. */
export type UsageReportQuery = UsageQuery & { page: { offset: number; limit: number } };

/** GetUsageReport's request as a ledger query for the page it asks for (the first, or the one its page_token starts). */
export function readUsageReport(req: GetUsageReportRequest, v: FieldViolations, now: number): UsageReportQuery {
  let endMs = readTime(req.endTime, "end_time", v, now);
  let startMs = readTime(req.startTime, "start_time", v, defaultStart(endMs, DEFAULT_REPORT_WINDOW_MS));
  if (startMs >= endMs) v.add("start_time", "must be before end_time");
  const groupBy = req.groupBy.map((dimension, i) => {
    const group = GROUPS[dimension];
    if (!group) v.add(`group_by[${i}]`, "must be PROVIDER, MODEL, KEY, TEAM, SURFACE or DAY");
    return group!;
  });
  const limit = readPageSize(req.pageSize, REPORT_PAGE_SIZES, v);
  const position = REPORT_PAGES.decode(req.pageToken, v);
  let offset = 0;
  if (position && position[3] !== reportDigest(req)) v.add("page_token", "was issued for another report: ask again from the first page with this one");
  else if (position && !continuesWindow(position, req, { startMs, endMs })) v.add("page_token", "is not a token from a previous GetUsageReport response");
  else if (position) [offset, startMs, endMs] = position;
  const surface = req.surface || undefined;
  // A name no row carries would select nothing, silently: a typo is refused instead.
  if (surface !== undefined && !RECORDED_SURFACES.includes(surface)) v.add("surface", `must be one of ${RECORDED_SURFACES.join(", ")} (calls on the typed API and chat completions name none)`);
  return { startMs, endMs, ...readUsageFilters(req, v), surface, groupBy, page: { offset, limit } };
}

/**
 * Whether a token's window is one the first page of `req` could have had:
 * tokens are not signed (a hand-made one is as good as a real one), so each
 * field is checked again. A time the request sets must be the token's, and
 * an unset start is the default window before the token's end (an unset end
 * was "now" on the instance that issued the token: any time, since another
 * instance's clock may be a little behind). The window is within
 * Timestamp's range, which the answer gives back.
 */
function continuesWindow([, startMs, endMs]: ReportPosition, req: GetUsageReportRequest, asked: { startMs: number; endMs: number }): boolean {
  if (!isTimestampMs(startMs) || !isTimestampMs(endMs) || startMs >= endMs) return false;
  if (req.endTime && endMs !== asked.endMs) return false;
  return req.startTime ? startMs === asked.startMs : startMs === defaultStart(endMs, DEFAULT_REPORT_WINDOW_MS);
}

/** A window's start when the request leaves it out: `windowMs` before its end, but never before Timestamp's first day (an answer gives it back). */
export function defaultStart(endMs: number, windowMs: number): number {
  return Math.max(EARLIEST_MS, endMs - windowMs);
}

/** The next_page_token after the page `query` asked for, of the report `req` asks for. */
export function nextReportPageToken(req: GetUsageReportRequest, query: UsageReportQuery): string {
  return REPORT_PAGES.encode([query.page.offset + query.page.limit, query.startMs, query.endMs, reportDigest(req)]);
}

/** What a report request selects and how it groups it (its page aside), as a short digest: a token names it without growing with it. */
function reportDigest(req: GetUsageReportRequest): string {
  const time = (t: Timestamp | undefined) => (t ? [String(t.seconds), t.nanos] : null);
  const selects = JSON.stringify([time(req.startTime), time(req.endTime), req.key, req.team, req.provider, req.model, req.surface, req.groupBy]);
  return createHash("sha256").update(selects).digest("base64url").slice(0, 16);
}

/** A usage request's filters (key, team, provider, model) as a ledger query's; empty means every one. */
export function readUsageFilters(req: { key: string; team: string; provider: string; model: string }, v: FieldViolations): Pick<UsageQuery, "keyId" | "team" | "provider" | "model"> {
  return {
    keyId: req.key ? KEY_NAME.read(req.key, "key", v)?.key : undefined,
    team: readFilter(req.team, "team", v),
    provider: readFilter(req.provider, "provider", v),
    model: readFilter(req.model, "model", v),
  };
}

/** Filter values are compared with the ledger's text: at most 256 characters, none a control character (Postgres text holds no NUL). */
const MAX_FILTER_CHARS = 256;

export function readFilter(value: string, field: string, v: FieldViolations): string | undefined {
  if (!value) return undefined;
  if (value.length > MAX_FILTER_CHARS) v.add(field, `must be at most ${MAX_FILTER_CHARS} characters, got ${value.length}`);
  else if (hasControlCharacter(value)) v.add(field, "must not contain control characters");
  return value;
}
