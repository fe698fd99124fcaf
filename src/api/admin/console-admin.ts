import { createLiveStats, type LiveStatsAdmin, type LiveStatsDeps } from "./live-stats.js";
import type { UsageAdminDeps } from "./usage-admin.js";
import { createUsageStats, type UsageStatsAdmin } from "./usage-stats.js";
import { createWatchCalls, type WatchCallsAdmin, type WatchCallsDeps } from "./watch-calls.js";

export interface ConsoleAdminDeps {
  /** The calls as they finish (WatchCalls). */
  calls: WatchCallsDeps;
  /** Usage over time (GetUsageStats), from the same ledger as GetUsageReport. */
  usage: UsageAdminDeps;
  /** Providers' recent latency and breakers (GetLiveStats). */
  live: LiveStatsDeps;
}

/** The AdminService's methods for live views and charts, which the web console is built on. */
export function createConsoleAdmin(deps: ConsoleAdminDeps): WatchCallsAdmin & UsageStatsAdmin & LiveStatsAdmin {
  return { ...createWatchCalls(deps.calls), ...createUsageStats(deps.usage), ...createLiveStats(deps.live) };
}
