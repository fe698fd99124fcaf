import { parseArgs } from "node:util";
import { durationMs, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { GetUsageReportRequestSchema, UsageDimension, type GetUsageReportRequest, type UsageReportRow } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { DEFAULT_REPORT_WINDOW_MS, defaultStart } from "../api/admin/usage-requests.js";
import { NANOS_PER_UNIT } from "../usage/pricing.js";
import { UNRECORDED_SURFACE_LABEL } from "../usage/recorded-surfaces.js";
import { ADMIN_CONNECTION_HELP, adminClient, asksForHelp, CliError, parseMoment, runCli, table, type CliIo } from "./admin-client.js";

export const USAGE_USAGE = `usage: switchboard usage [options]

Prints requests, tokens, cost and errors from the usage ledger, and the calls
the response cache answered with what they would have cost (SAVED).

options:
  --since 7d|DATE        from this long ago or this date (default: 30 days before --until)
  --until 1d|DATE        up to this long ago or this date (default: now)
  --by DIM[,DIM]         group by provider, model, key, team, surface and/or day (default: one total)
  --key ID               only this key ("master" for the master key)
  --team TEAM            only this team's keys
  --provider NAME        only this provider
  --model MODEL          only calls that requested or were served by this model
  --surface NAME         only calls that came in on this API: anthropic_messages, openai_responses
  --json                 print JSON instead of a table

${ADMIN_CONNECTION_HELP}`;

const DIMENSIONS: Record<string, UsageDimension> = {
  provider: UsageDimension.PROVIDER,
  model: UsageDimension.MODEL,
  key: UsageDimension.KEY,
  team: UsageDimension.TEAM,
  surface: UsageDimension.SURFACE,
  day: UsageDimension.DAY,
};

/** `switchboard usage --since 7d --by provider`. Returns the exit code. */
export async function usageCommand(args: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  if (args[0] === "help" || asksForHelp(args)) {
    io.stdout.write(`${USAGE_USAGE}\n`);
    return 0;
  }
  return runCli(io, async () => {
    let values;
    try {
      values = parseArgs({
        args,
        options: {
          since: { type: "string" },
          until: { type: "string" },
          by: { type: "string" },
          key: { type: "string" },
          team: { type: "string" },
          provider: { type: "string" },
          model: { type: "string" },
          surface: { type: "string" },
          json: { type: "boolean" },
        },
        strict: true,
      }).values;
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n\n${USAGE_USAGE}`, 2);
    }
    const now = Date.now();
    const dims = (values.by ?? "").split(",").map((dim) => dim.trim().toLowerCase()).filter(Boolean);
    for (const dim of dims) if (!(dim in DIMENSIONS)) throw new CliError(`--by: "${dim}" is not one of provider, model, key, team, surface, day`, 2);
    const end = values.until ? parseMoment(values.until, "--until", now) : now;
    // Without --since, the window the gateway's own default is: --until alone (60d, a date) names a window, not one that starts after it ends.
    const start = values.since ? parseMoment(values.since, "--since", now) : defaultStart(end, DEFAULT_REPORT_WINDOW_MS);
    const report = await wholeReport(adminClient(io), create(GetUsageReportRequestSchema, {
      startTime: timestampFromMs(start),
      endTime: timestampFromMs(end),
      key: values.key ? `keys/${values.key.replace(/^keys\//, "")}` : "",
      team: values.team ?? "",
      provider: values.provider ?? "",
      model: values.model ?? "",
      surface: values.surface ?? "",
      groupBy: dims.map((dim) => DIMENSIONS[dim]!),
    }));

    if (values.json) {
      io.stdout.write(`${JSON.stringify({ start: new Date(start).toISOString(), end: new Date(end).toISOString(), rows: report.rows.map((row) => toJson(row, dims)), total: toJson(report.total!, []) }, null, 2)}\n`);
      return;
    }
    const currency = report.total?.cost?.currencyCode ?? "";
    const headers = [
      ...dims.map((dim) => dim.toUpperCase()),
      "REQUESTS",
      "ERRORS",
      "PROMPT_TOKENS",
      "COMPLETION_TOKENS",
      `COST_${currency}`,
      "DOWNGRADED",
      "CACHE_HITS",
      `SAVED_${currency}`,
    ];
    const cells = (row: UsageReportRow, label: string[]): string[] => [
      ...label,
      String(row.requests),
      String(row.errors),
      String(row.promptTokens),
      String(row.completionTokens),
      money(row.cost),
      String(row.downgraded),
      String(row.cacheHits),
      money(row.savedCost),
    ];
    const rows = report.rows.map((row) => cells(row, dims.map((dim) => dimension(row, dim))));
    if (dims.length > 0 && report.rows.length > 1) rows.push(cells(report.total!, dims.map((_, i) => (i === 0 ? "TOTAL" : ""))));
    io.stdout.write(`usage from ${new Date(start).toISOString()} to ${new Date(end).toISOString()}\n\n`);
    io.stdout.write(report.rows.length === 0 ? "no calls in this window\n" : table(headers, rows));
  });
}

/** The largest page GetUsageReport gives: the fewest round trips for a report of many rows. */
const PAGE_SIZE = 5000;

/** Every row of a report, page after page; the total (the whole report's on every page) from the last. */
async function wholeReport(client: ReturnType<typeof adminClient>, request: GetUsageReportRequest) {
  const rows: UsageReportRow[] = [];
  request.pageSize = PAGE_SIZE;
  for (;;) {
    const page = await client.getUsageReport(request);
    rows.push(...page.rows);
    request.pageToken = page.nextPageToken;
    if (!request.pageToken) return { rows, total: page.total };
  }
}

function money(amount: UsageReportRow["cost"]): string {
  return amount ? (Number(amount.units) + amount.nanos / NANOS_PER_UNIT).toFixed(6) : "0";
}

function dimension(row: UsageReportRow, dim: string): string {
  switch (dim) {
    case "provider":
      return row.provider || "(none)";
    case "model":
      return row.model || "(none)";
    case "key":
      return row.key.replace(/^keys\//, "");
    case "team":
      return row.team || "(none)";
    case "surface":
      return row.surface || UNRECORDED_SURFACE_LABEL;
    default:
      return row.day ? timestampDate(row.day).toISOString().slice(0, 10) : "";
  }
}

function toJson(row: UsageReportRow, dims: string[]): Record<string, unknown> {
  return {
    ...Object.fromEntries(dims.map((dim) => [dim, dimension(row, dim)])),
    requests: Number(row.requests),
    errors: Number(row.errors),
    promptTokens: Number(row.promptTokens),
    completionTokens: Number(row.completionTokens),
    cachedTokens: Number(row.cachedTokens),
    cost: Number(money(row.cost)),
    currency: row.cost?.currencyCode ?? "",
    downgraded: Number(row.downgraded),
    cacheHits: Number(row.cacheHits),
    savedCost: Number(money(row.savedCost)),
    meanLatencyMs: row.meanLatency ? durationMs(row.meanLatency) : 0,
  };
}
