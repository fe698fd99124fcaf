import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { useMemo, useState } from "react";
import type { UsageSeries } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { BarChart } from "../components/BarChart";
import { ErrorNote } from "../components/ErrorNote";
import { VisibleName } from "../components/VisibleName";
import { csvCell } from "../csv-cell";
import { durationMs, formatAmount, formatCount, moneyValue, timestampDate } from "../format";
import { ts } from "../time-windows";
import { Field } from "../components/Field";
import { ScrollTable } from "../components/ScrollTable";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * DAY_MS;
/** The most buckets GetUsageStats answers for. */
const MAX_BUCKETS = 1000;
/**
 * The bucket for a window: hours up to two days, days up to a year, then
 * weeks (seven days from a Thursday, UTC: buckets start at multiples of their
 * width since the Unix epoch, a Thursday) up to 1,000 of them, about 19 years.
 */
const BUCKETS = [
  { ms: HOUR_MS, upTo: 2 * DAY_MS, word: "hour" },
  { ms: DAY_MS, upTo: 366 * DAY_MS, word: "day" },
  { ms: WEEK_MS, upTo: MAX_BUCKETS * WEEK_MS, word: "week" },
] as const;
const GROUPS = [
  { value: UsageDimension.PROVIDER, label: "Provider", plural: "providers" },
  { value: UsageDimension.MODEL, label: "Model", plural: "models" },
  { value: UsageDimension.KEY, label: "Key", plural: "keys" },
  { value: UsageDimension.TEAM, label: "Team", plural: "teams" },
];
const METRICS = {
  cost: { label: "Cost", of: (b: Bucket) => moneyValue(b.cost) },
  tokens: { label: "Tokens", of: (b: Bucket) => Number(b.promptTokens + b.completionTokens) },
  requests: { label: "Requests", of: (b: Bucket) => Number(b.requests) },
} as const;
type Metric = keyof typeof METRICS;
type Bucket = UsageSeries["buckets"][number];

function dateInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Cost and tokens over time from the usage ledger, grouped as asked, for a date range (UTC days), with a CSV export. */
export function UsagePage() {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const [from, setFrom] = useState(dateInput(today - 6 * DAY_MS));
  const [to, setTo] = useState(dateInput(today));
  const [group, setGroup] = useState(UsageDimension.PROVIDER);
  const [metric, setMetric] = useState<Metric>("cost");
  const startMs = Date.parse(`${from}T00:00:00Z`);
  const endMs = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
  const ordered = Number.isFinite(startMs) && Number.isFinite(endMs) && startMs < endMs;
  const bucket = BUCKETS.find((b) => endMs - startMs <= b.upTo);
  const valid = ordered && !!bucket;
  const bucketMs = bucket?.ms ?? WEEK_MS;
  const groupWords = GROUPS.find((g) => g.value === group)!;
  // The gateway starts the first bucket at a multiple of its width: so do the chart's.
  const firstMs = Math.floor(startMs / bucketMs) * bucketMs;
  const stats = useQuery(
    AdminService.method.getUsageStats,
    { startTime: ts(startMs), endTime: ts(endMs), bucketWidth: durationFromMs(bucketMs), groupBy: group },
    { enabled: valid, refetchInterval: 10_000 },
  );
  /** The series summing the groups past the gateway's bound (GetUsageStats' max_series), if any. */
  const folded = stats.data?.series.find((s) => s.foldedGroups > 0);
  const seriesName = (s: UsageSeries) => (s.foldedGroups > 0 ? `(other: ${formatCount(s.foldedGroups)} ${groupWords.plural})` : s.group || "(none)");
  const currency = stats.data?.series[0]?.buckets[0]?.cost?.currencyCode || "USD";

  const view = useMemo(() => {
    const starts: number[] = [];
    for (let t = firstMs; valid && t < endMs; t += bucketMs) starts.push(t);
    const lookup = (s: UsageSeries, start: number) => s.buckets.find((b) => timestampDate(b.startTime)?.getTime() === start);
    const series = (stats.data?.series ?? []).map((s) => ({ name: seriesName(s), source: s, values: starts.map((start) => { const b = lookup(s, start); return b ? METRICS[metric].of(b) : 0; }) }));
    const label = (start: number) =>
      bucketMs === HOUR_MS
        ? new Date(start).toISOString().slice(11, 16)
        : new Date(start).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: bucketMs === WEEK_MS ? "2-digit" : undefined, timeZone: "UTC" });
    return { starts, labels: starts.map(label), series };
  }, [stats.data, firstMs, endMs, bucketMs, metric, valid]); // eslint-disable-line react-hooks/exhaustive-deps

  const format = (value: number) => (metric === "cost" ? formatAmount(value, currency) : formatCount(Math.round(value)));
  const totals = view.series.map((s) => {
    const sum = (f: (b: Bucket) => number) => s.source.buckets.reduce((acc, b) => acc + f(b), 0);
    return {
      name: s.name,
      requests: sum((b) => Number(b.requests)),
      errors: sum((b) => Number(b.errors)),
      prompt: sum((b) => Number(b.promptTokens)),
      completion: sum((b) => Number(b.completionTokens)),
      cost: sum((b) => moneyValue(b.cost)),
    };
  });

  const exportCsv = () => {
    const groupName = groupWords.label.toLowerCase();
    const lines = [["bucket_start", groupName, "requests", "errors", "prompt_tokens", "completion_tokens", `cost_${currency.toLowerCase()}`, "mean_latency_ms"].join(",")];
    for (const s of stats.data?.series ?? []) {
      for (const b of s.buckets) {
        lines.push(
          [timestampDate(b.startTime)?.toISOString() ?? "", csvCell(s.foldedGroups > 0 ? seriesName(s) : s.group), b.requests, b.errors, b.promptTokens, b.completionTokens, moneyValue(b.cost).toFixed(9), Math.round(durationMs(b.meanLatency) ?? 0)].join(","),
        );
      }
    }
    const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `switchboard-usage-${from}-to-${to}-by-${groupName}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <>
      <form className="toolbar" onSubmit={(e) => e.preventDefault()}>
        <Field id="usage-from" label="From (UTC)">
          <input id="usage-from" type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field id="usage-to" label="To (UTC)">
          <input id="usage-to" type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field id="usage-group" label="Group by">
          <select id="usage-group" value={group} onChange={(e) => setGroup(Number(e.target.value) as UsageDimension)}>
            {GROUPS.map((g) => (
              <option key={g.value} value={g.value}>
                {g.label}
              </option>
            ))}
          </select>
        </Field>
        <Field id="usage-metric" label="Show">
          <select id="usage-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            {Object.entries(METRICS).map(([value, m]) => (
              <option key={value} value={value}>
                {m.label}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" className="push" onClick={exportCsv} disabled={!stats.data}>
          Export CSV
        </button>
      </form>
      {!ordered && (
        <p className="error" role="alert">
          The start date must be on or before the end date.
        </p>
      )}
      {ordered && !bucket && (
        <p className="error" role="alert">
          Choose a range of at most {formatCount(MAX_BUCKETS)} weeks (about 19 years): the gateway charts at most {formatCount(MAX_BUCKETS)} buckets.
        </p>
      )}
      <ErrorNote error={stats.error} title="Could not load usage" />
      <section className="panel" aria-labelledby="usage-chart-heading">
        <h2 id="usage-chart-heading">
          {METRICS[metric].label} per {bucket?.word ?? "week"}
          {bucketMs === WEEK_MS && <span className="muted small"> (weeks from Thursday, UTC)</span>}
        </h2>
        <BarChart whole={metric !== "cost"} title={`${METRICS[metric].label} per ${bucket?.word ?? "week"} by ${groupWords.label.toLowerCase()}`} labels={view.labels} series={view.series} format={format} />
      </section>
      <section className="panel" aria-labelledby="usage-table-heading">
        <h2 id="usage-table-heading">Totals</h2>
        {folded && (
          <p className="note" data-testid="usage-folded">
            The {formatCount(stats.data!.series.length - 1)} most expensive {groupWords.plural} are shown one by one; the other {formatCount(folded.foldedGroups)} are summed as “(other)”, in the chart and the CSV too.
          </p>
        )}
        <ScrollTable label="Usage totals" className="usage-totals" columns={[groupWords.label, { label: "Requests", num: true }, { label: "Errors", num: true }, { label: "Prompt tokens", num: true }, { label: "Completion tokens", num: true }, { label: "Cost", num: true }]}>
              {/* Keyed by place: two groups may read alike (a team called "(none)" and keys with no team). */}
              {totals.map((t, i) => (
                <tr key={i} data-group={t.name}>
                  <th scope="row">
                    <VisibleName name={t.name} />
                  </th>
                  <td className="num">{formatCount(t.requests)}</td>
                  <td className="num">{formatCount(t.errors)}</td>
                  <td className="num">{formatCount(t.prompt)}</td>
                  <td className="num">{formatCount(t.completion)}</td>
                  <td className="num">{formatAmount(t.cost, currency)}</td>
                </tr>
              ))}
              {totals.length === 0 && (
                <tr>
                  <td colSpan={6}>{stats.isPending ? "Loading…" : "No calls in this window."}</td>
                </tr>
              )}
        </ScrollTable>
      </section>
    </>
  );
}
