import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/ts/grpc/health/v1/health_pb.js";
import type { HealthState } from "../common/health-state.js";
import { gatewayError } from "../common/gateway-error.js";

/** grpc.health.v1.Health: Check, Watch and List, for load balancers and `grpc_health_probe`. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(req) {
      if (!state.knows(req.service)) throw gatewayError(Code.NotFound, `unknown service "${req.service}"`, "SERVICE_NOT_FOUND", { service: req.service });
      return create(HealthCheckResponseSchema, { status: state.status(req.service) });
    },
    async *watch(req, ctx) {
      if (!state.knows(req.service)) {
        yield create(HealthCheckResponseSchema, { status: Status.SERVICE_UNKNOWN });
        return;
      }
      let last = state.status(req.service);
      yield create(HealthCheckResponseSchema, { status: last });
      try {
        for await (const _ of state.changesUntil(req.service, ctx.signal)) {
          const status = state.status(req.service);
          if (status === last) continue;
          last = status;
          yield create(HealthCheckResponseSchema, { status });
        }
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
      }
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const name of state.names()) statuses[name] = create(HealthCheckResponseSchema, { status: state.status(name) });
      return create(HealthListResponseSchema, { statuses });
    },
  };
}
