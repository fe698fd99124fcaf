import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/ts/grpc/health/v1/health_pb.js";
import { excerpt } from "../common/excerpt.js";
import { PROVIDER_SERVICE_PREFIX, type HealthState } from "../common/health-state.js";
import { gatewayError } from "../common/gateway-error.js";
import { startTimer as nodeTimer, type StartTimer } from "../gateway/timers.js";
import { clientKey, remoteAddressKey } from "./client-key.js";
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from "./client-limits.js";
import { mayReadHealthDetail } from "./health-disclosure.js";

/**
 * Watch streams open at once. Health needs no key, and each watch holds
 * memory for as long as the client keeps it (5,000 of them took the process
 * past 600 MB); load balancers and probes use Check, so a few dozen is plenty.
 */
export const MAX_HEALTH_WATCHES = 100;

/** How many watches one client may hold, and for how long (./client-limits.ts). */
export type HealthWatchLimits = Pick<ClientLimits, "maxHealthWatchesPerClient" | "healthWatchMaxAgeMs">;

/** A watch ends this much sooner than its age, at most, chosen at random: watches opened together (after a restart) do not all end together. */
const MAX_AGE_JITTER = 0.1;

/**
 * grpc.health.v1.Health: Check, Watch and List, for load balancers and
 * `grpc_health_probe`. Watches are bounded per instance (maxWatches) and per
 * client address (an IPv6 client: its /64), and each ends with OK after
 * healthWatchMaxAgeMs, so that no one, with no key, holds them all for good.
 * List names the providers and dependencies only to callers inside the
 * network (./health-disclosure.ts); Check and Watch answer a named service's
 * status (never why) to anyone, as grpc clients' health checking asks.
 */
export function createHealthService(
  state: HealthState,
  limits: HealthWatchLimits = DEFAULT_CLIENT_LIMITS,
  { maxWatches = MAX_HEALTH_WATCHES, startTimer = nodeTimer }: { maxWatches?: number; startTimer?: StartTimer } = {},
): ServiceImpl<typeof Health> {
  const share = Math.min(limits.maxHealthWatchesPerClient, maxWatches);
  let watches = 0;
  const byClient = new Map<string, number>();
  return {
    check(req) {
      // The name is the caller's, and anyone may ask: quoted in part (a 7 MB name made a 23 MB answer).
      if (!state.knows(req.service)) throw gatewayError(Code.NotFound, `unknown service "${excerpt(req.service)}"`, "SERVICE_NOT_FOUND", { service: excerpt(req.service) });
      return create(HealthCheckResponseSchema, { status: state.status(req.service) });
    },
    async *watch(req, ctx) {
      const client = clientKey(ctx.values.get(remoteAddressKey));
      const held = byClient.get(client) ?? 0;
      if (watches >= maxWatches) {
        throw gatewayError(Code.ResourceExhausted, `${maxWatches} health watches are open on this instance; use Check, or watch again later`, "TOO_MANY_WATCHERS", {}, 1_000);
      }
      if (held >= share) {
        throw gatewayError(Code.ResourceExhausted, `this client address holds ${share} health watches on this instance already; use Check, or end one`, "TOO_MANY_WATCHERS", {}, 1_000);
      }
      watches++;
      byClient.set(client, held + 1);
      const until = untilAgedOrGone(ctx, limits.healthWatchMaxAgeMs * (1 - MAX_AGE_JITTER * Math.random()), startTimer);
      try {
        yield* watchStatus(state, req.service, until.signal);
      } finally {
        until.stop();
        watches--;
        const left = byClient.get(client)! - 1;
        if (left === 0) byClient.delete(client);
        else byClient.set(client, left);
      }
    },
    list(_req, ctx) {
      const detailed = mayReadHealthDetail({ remoteAddress: ctx.values.get(remoteAddressKey), header: (name) => ctx.requestHeader.get(name) ?? undefined });
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const name of detailed ? state.names() : ownServices(state)) statuses[name] = create(HealthCheckResponseSchema, { status: state.status(name) });
      return create(HealthListResponseSchema, { statuses });
    },
  };
}

/**
 * The server ("") and the gateway's own services, which reflection and the
 * landing page name to anyone anyway: List names no provider or dependency
 * to a caller that may not read health's detail (./health-disclosure.ts).
 */
function ownServices(state: HealthState): string[] {
  const dependencies = state.dependencies();
  return state.names().filter((name) => !name.startsWith(PROVIDER_SERVICE_PREFIX) && !dependencies.has(name));
}

/**
 * A signal that fires when the call ends or `ms` have passed. A watch that
 * ends at its age ends with OK: the health protocol has clients watch again
 * after any status but UNIMPLEMENTED (grpc/health/v1/health.proto), and
 * grpc-go's, having had an answer, does so at once, without backoff
 * (health/client.go). No status keeps grpc-go's subchannel READY meanwhile:
 * it is TRANSIENT_FAILURE until the new watch's first answer, one round trip.
 */
function untilAgedOrGone(ctx: HandlerContext, ms: number, startTimer: StartTimer): { signal: AbortSignal; stop(): void } {
  const ended = new AbortController();
  const end = () => ended.abort();
  const timer = startTimer(ms, end);
  ctx.signal.addEventListener("abort", end, { once: true });
  if (ctx.signal.aborted) end();
  return {
    signal: ended.signal,
    stop: () => {
      timer.stop();
      ctx.signal.removeEventListener("abort", end);
    },
  };
}

/**
 * A service's status now, then each time it changes, until the signal fires.
 * An unknown service is SERVICE_UNKNOWN and the call stays open, as
 * health.proto asks: ended, grpc-go would watch it again at once, in a loop.
 */
async function* watchStatus(state: HealthState, service: string, signal: AbortSignal) {
  const statusNow = () => (state.knows(service) ? state.status(service) : Status.SERVICE_UNKNOWN);
  let last = statusNow();
  yield create(HealthCheckResponseSchema, { status: last });
  try {
    for await (const _ of state.changesUntil(service, signal)) {
      const status = statusNow();
      if (status === last) continue;
      last = status;
      yield create(HealthCheckResponseSchema, { status });
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
