import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EventEmitter, on } from "node:events";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/ts/grpc/health/v1/health_pb.js";

/** Serving status of the whole server ("") and of each named service; flips to NOT_SERVING on shutdown. */
export class HealthState {
  private serving = true;
  private readonly changes = new EventEmitter();

  constructor(private readonly services: readonly string[]) {
    this.changes.setMaxListeners(0);
  }

  knows(service: string): boolean {
    return service === "" || this.services.includes(service);
  }

  status(): Status {
    return this.serving ? Status.SERVING : Status.NOT_SERVING;
  }

  setServing(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    this.changes.emit("change");
  }

  /** Resolves each time the status changes, until the signal fires. */
  changesUntil(signal: AbortSignal): AsyncIterable<unknown> {
    return on(this.changes, "change", { signal });
  }

  names(): readonly string[] {
    return ["", ...this.services];
  }
}

/** grpc.health.v1.Health: Check, Watch and List, for load balancers and `grpc_health_probe`. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(req) {
      if (!state.knows(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status: state.status() });
    },
    async *watch(req, ctx) {
      if (!state.knows(req.service)) {
        yield create(HealthCheckResponseSchema, { status: Status.SERVICE_UNKNOWN });
        return;
      }
      yield create(HealthCheckResponseSchema, { status: state.status() });
      try {
        for await (const _ of state.changesUntil(ctx.signal)) yield create(HealthCheckResponseSchema, { status: state.status() });
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
      }
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const name of state.names()) statuses[name] = create(HealthCheckResponseSchema, { status: state.status() });
      return create(HealthListResponseSchema, { statuses });
    },
  };
}
