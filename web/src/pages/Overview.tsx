import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { BreakerState } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension, type UsageReportRow } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { BarChart } from "../components/BarChart";
import { ErrorNote } from "../components/ErrorNote";
import { formatCount, formatDuration, formatMoney, formatTime, percent, timestampDate } from "../format";
import { floorTo, startOfMonthUtc, startOfTodayUtc, ts } from "../time-windows";
import { ScrollTable } from "../components/ScrollTable";

const REFRESH_MS = 5_000;
const CHART_BUCKET_MS = 15 * 60_000;
const CHART_HOURS = 6;

export const BREAKER_WORDS: Record<BreakerState, string> = {
  [BreakerState.UNSPECIFIED]: "–",
  [BreakerState.CLOSED]: "closed",
  [BreakerState.OPEN]: "open",
  [BreakerState.HALF_OPEN]: "half-open",
  [BreakerState.OFF]: "off",
};

/** Today and this month from the usage ledger (every instance), the last minutes' latency from this instance; refreshed every few seconds. */
export function OverviewPage() {
  const now = Date.now();
  const today = startOfTodayUtc(now);
  const month = startOfMonthUtc(now);
  const chartStart = floorTo(now, CHART_BUCKET_MS) - (CHART_HOURS * 3_600_000 - CHART_BUCKET_MS);
  const live = useQuery(AdminService.method.getLiveStats, {}, { refetchInterval: REFRESH_MS });
  const todayReport = useQuery(AdminService.method.getUsageReport, { startTime: ts(today), groupBy: [UsageDimension.PROVIDER] }, { refetchInterval: REFRESH_MS });
  const monthReport = useQuery(AdminService.method.getUsageReport, { startTime: ts(month), groupBy: [UsageDimension.PROVIDER] }, { refetchInterval: REFRESH_MS });
  const stats = useQuery(
    AdminService.method.getUsageStats,
    { startTime: ts(chartStart), bucketWidth: durationFromMs(CHART_BUCKET_MS), groupBy: UsageDimension.PROVIDER },
    { refetchInterval: REFRESH_MS },
  );

  const total = todayReport.data?.total;
  const monthTotal = monthReport.data?.total;
  const providers = useMemo(() => {
    const names = new Set<string>();
    for (const p of live.data?.providers ?? []) names.add(p.name.replace(/^providers\//, ""));
    for (const r of [...(todayReport.data?.rows ?? []), ...(monthReport.data?.rows ?? [])]) if (r.provider) names.add(r.provider);
    return [...names].sort();
  }, [live.data, todayReport.data, monthReport.data]);
  const row = (rows: UsageReportRow[] | undefined, provider: string) => rows?.find((r) => r.provider === provider);

  const chart = useMemo(() => {
    const starts: number[] = [];
    for (let t = chartStart; t <= now; t += CHART_BUCKET_MS) starts.push(t);
    const series = (stats.data?.series ?? []).map((s) => ({
      name: s.group,
      values: starts.map((start) => Number(s.buckets.find((b) => timestampDate(b.startTime)?.getTime() === start)?.requests ?? 0)),
    }));
    return { labels: starts.map((start) => new Date(start).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })), series };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stats.data, chartStart]);

  const error = live.error ?? todayReport.error ?? monthReport.error ?? stats.error;
  const errorsToday = Number(total?.errors ?? 0n);
  const requestsToday = Number(total?.requests ?? 0n);
  return (
    <>
      <ErrorNote error={error} title="Could not load the overview" />
      <section aria-label="Today" className="kpis">
        <Kpi label="Requests today" value={formatCount(requestsToday)} />
        <Kpi label="Errors today" value={formatCount(errorsToday)} detail={percent(errorsToday, requestsToday)} />
        <Kpi label="Cost today" value={formatMoney(total?.cost)} />
        <Kpi label="Cost this month" value={formatMoney(monthTotal?.cost)} />
      </section>

      <section aria-labelledby="providers-heading" className="panel">
        <h2 id="providers-heading">By provider</h2>
        <p className="note">
          Requests, errors and cost: today and this month (UTC), every instance. Latency and time to first token: this instance, since {formatTime(live.data?.startTime)}.
        </p>
        <ScrollTable label="Providers today" columns={["Provider", { label: "Requests", num: true }, { label: "Errors", num: true }, { label: "Latency p50 / p95", num: true }, { label: "First token p50 / p95", num: true }, { label: "Cost today", num: true }, { label: "This month", num: true }, "Breaker"]}>
              {providers.map((provider) => {
                const stat = live.data?.providers.find((p) => p.name === `providers/${provider}`);
                const t = row(todayReport.data?.rows, provider);
                const m = row(monthReport.data?.rows, provider);
                return (
                  <tr key={provider} data-provider={provider}>
                    <th scope="row">
                      {provider}
                      {stat && !stat.serving && <span className="badge warn" title={stat.degradedReason}>degraded</span>}
                    </th>
                    <td className="num">{formatCount(t?.requests ?? 0n)}</td>
                    <td className="num">
                      {formatCount(t?.errors ?? 0n)} <span className="muted">{percent(Number(t?.errors ?? 0n), Number(t?.requests ?? 0n))}</span>
                    </td>
                    <td className="num">
                      {formatDuration(stat?.latencyP50)} / {formatDuration(stat?.latencyP95)}
                    </td>
                    <td className="num">
                      {formatDuration(stat?.timeToFirstTokenP50)} / {formatDuration(stat?.timeToFirstTokenP95)}
                    </td>
                    <td className="num">{formatMoney(t?.cost)}</td>
                    <td className="num">{formatMoney(m?.cost)}</td>
                    <td>
                      <span className={`badge breaker-${stat ? BREAKER_WORDS[stat.breaker] : "none"}`}>{stat ? BREAKER_WORDS[stat.breaker] : "–"}</span>
                    </td>
                  </tr>
                );
              })}
              {providers.length === 0 && (
                <tr>
                  <td colSpan={8}>No provider is configured: give the gateway a vendor key (OPENAI_API_KEY, …).</td>
                </tr>
              )}
        </ScrollTable>
      </section>

      <section aria-labelledby="recent-heading" className="panel">
        <h2 id="recent-heading">Requests, last {CHART_HOURS} hours</h2>
        <BarChart title={`Requests per 15 minutes by provider, last ${CHART_HOURS} hours`} labels={chart.labels} series={chart.series} format={(v) => formatCount(Math.round(v))} height={180} whole />
      </section>
    </>
  );
}

function Kpi({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="kpi">
      <span className="kpi-label">{label}</span>
      <span className="kpi-value">{value}</span>
      {detail && <span className="kpi-detail">{detail}</span>}
    </div>
  );
}
