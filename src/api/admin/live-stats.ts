import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { BreakerState, GetLiveStatsResponseSchema, ProviderLiveStatsSchema, type ProviderLiveStats } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import type { ProviderStates } from "../../common/health-state.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { adminRightsOf } from "./admin-rights.js";
import { attemptHealth } from "./attempt-health.js";
import { quantile, readByProvider, ReadingWindow, since, total, type ProviderHistogram, type ProviderHistograms } from "./histogram-window.js";
import { PROVIDER_NAME } from "./resource-names.js";

export interface LiveStatsDeps {
  metrics: GatewayMetrics;
  /** Each provider's health (key pool and breaker), computed when read. */
  providers: ProviderStates;
  /** A provider's circuit breaker state; undefined while breakers are off. */
  breaker(provider: string): "closed" | "open" | "half_open" | undefined;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

/** The window GetLiveStats answers for. */
const WINDOW_MS = 5 * 60_000;
/** Readings closer together than this add nothing (consoles poll every few seconds). */
const READING_GAP_MS = 5_000;

const BREAKERS = { closed: BreakerState.CLOSED, open: BreakerState.OPEN, half_open: BreakerState.HALF_OPEN };

/** The part of the AdminService that createLiveStats implements. */
export type LiveStatsAdmin = Pick<ServiceImpl<typeof AdminService>, "getLiveStats">;

interface Reading {
  upstream: ProviderHistograms;
  firstToken: ProviderHistograms;
}

/**
 * AdminService.GetLiveStats: each provider's recent attempts, latency and
 * time to first token from the gateway's own histograms (which every call
 * feeds already), with its breaker and health. Readings are taken when asked.
 */
export function createLiveStats(deps: LiveStatsDeps): LiveStatsAdmin {
  const now = deps.now ?? Date.now;
  const window = new ReadingWindow<Reading>(WINDOW_MS, READING_GAP_MS, now());
  return {
    async getLiveStats(_req, ctx) {
      const reading: Reading = {
        // Failed: what says the vendor is unhealthy, not the caller's mistakes or a key's trouble; cancellations are left out.
        upstream: await readByProvider(
          deps.metrics.upstreamDuration,
          (labels) => attemptHealth(String(labels.status)) === "failed",
          (labels) => attemptHealth(String(labels.status)) !== "left_out",
        ),
        firstToken: await readByProvider(deps.metrics.timeToFirstToken),
      };
      const endMs = now();
      const { base, sinceMs } = window.advance(endMs, reading);
      return create(GetLiveStatsResponseSchema, {
        providers: deps.providers
          .names()
          .sort()
          .map((provider) => toProviderStats(provider, deps, reading, base)),
        startTime: timestampFromMs(sinceMs),
        endTime: timestampFromMs(endMs),
        callerRights: adminRightsOf(ctx.values.get(principalKey)),
      });
    },
  };
}

function toProviderStats(provider: string, deps: LiveStatsDeps, reading: Reading, base: Reading | undefined): ProviderLiveStats {
  const upstream = window(reading.upstream, base?.upstream, provider);
  const firstToken = window(reading.firstToken, base?.firstToken, provider);
  const state = deps.providers.of(provider);
  const breaker = deps.breaker(provider);
  return create(ProviderLiveStatsSchema, {
    name: PROVIDER_NAME.format({ provider }),
    attempts: BigInt(upstream ? total(upstream) : 0),
    failedAttempts: BigInt(upstream?.failed ?? 0),
    latencyP50: seconds(upstream && quantile(upstream, 0.5)),
    latencyP95: seconds(upstream && quantile(upstream, 0.95)),
    streams: BigInt(firstToken ? total(firstToken) : 0),
    timeToFirstTokenP50: seconds(firstToken && quantile(firstToken, 0.5)),
    timeToFirstTokenP95: seconds(firstToken && quantile(firstToken, 0.95)),
    breaker: breaker ? BREAKERS[breaker] : BreakerState.OFF,
    serving: state.serving,
    degradedReason: state.reason,
  });
}

function window(now: ProviderHistograms, before: ProviderHistograms | undefined, provider: string): ProviderHistogram | undefined {
  const current = now.get(provider);
  return current && since(current, before?.get(provider));
}

function seconds(value: number | undefined) {
  return value === undefined ? undefined : durationFromMs(Math.round(value * 1000));
}
