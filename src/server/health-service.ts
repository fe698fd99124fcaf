import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/ts/grpc/health/v1/health_pb.js";
import { excerpt } from "../common/excerpt.js";
import type { HealthState } from "../common/health-state.js";
import { gatewayError } from "../common/gateway-error.js";

/**
 * Watch streams open at once. Health needs no key, and each watch holds
 * memory for as long as the client keeps it (5,000 of them took the process
 * past 600 MB); load balancers and probes use Check, so a few dozen is plenty.
 */
export const MAX_HEALTH_WATCHES = 100;

/** grpc.health.v1.Health: Check, Watch and List, for load balancers and `grpc_health_probe`. */
export function createHealthService(state: HealthState, maxWatches = MAX_HEALTH_WATCHES): ServiceImpl<typeof Health> {
  let watches = 0;
  return {
    check(req) {
      // The name is the caller's, and anyone may ask: quoted in part (a 7 MB name made a 23 MB answer).
      if (!state.knows(req.service)) throw gatewayError(Code.NotFound, `unknown service "${excerpt(req.service)}"`, "SERVICE_NOT_FOUND", { service: excerpt(req.service) });
      return create(HealthCheckResponseSchema, { status: state.status(req.service) });
    },
    async *watch(req, ctx) {
      if (!state.knows(req.service)) {
        yield create(HealthCheckResponseSchema, { status: Status.SERVICE_UNKNOWN });
        return;
      }
      if (watches >= maxWatches) {
        throw gatewayError(Code.ResourceExhausted, `${maxWatches} health watches are open on this instance; use Check, or watch again later`, "TOO_MANY_WATCHERS", {}, 1_000);
      }
      watches++;
      try {
        yield* watchStatus(state, req.service, ctx.signal);
      } finally {
        watches--;
      }
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const name of state.names()) statuses[name] = create(HealthCheckResponseSchema, { status: state.status(name) });
      return create(HealthListResponseSchema, { statuses });
    },
  };
}

/** A known service's status now, then each time it changes, until the signal fires. */
async function* watchStatus(state: HealthState, service: string, signal: AbortSignal) {
  let last = state.status(service);
  yield create(HealthCheckResponseSchema, { status: last });
  try {
    for await (const _ of state.changesUntil(service, signal)) {
      const status = state.status(service);
      if (status === last) continue;
      last = status;
      yield create(HealthCheckResponseSchema, { status });
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
