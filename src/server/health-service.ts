import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EventEmitter, on } from "node:events";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/ts/grpc/health/v1/health_pb.js";

/** A dependency's state, for health checks: a degraded one is named with what it means for calls. */
export interface DependencyHealth {
  ok: boolean;
  detail: string;
  /** Calls fail while it is down (a fail-closed policy): readiness fails too. */
  required: boolean;
}

/** Serving status of the whole server ("") and of each named service; flips to NOT_SERVING on shutdown. */
export class HealthState {
  private serving = true;
  private readonly changes = new EventEmitter();
  private readonly deps = new Map<string, DependencyHealth>();

  constructor(private readonly services: readonly string[]) {
    this.changes.setMaxListeners(0);
  }

  knows(service: string): boolean {
    return service === "" || this.services.includes(service) || this.deps.has(service);
  }

  /** The server's status, or a dependency's when `service` names one ("redis"). */
  status(service = ""): Status {
    const dependency = this.deps.get(service);
    if (dependency) return dependency.ok ? Status.SERVING : Status.NOT_SERVING;
    return this.serving ? Status.SERVING : Status.NOT_SERVING;
  }

  /** Records a dependency's state (checkable by name, listed by /healthz). */
  setDependency(name: string, health: DependencyHealth): void {
    const before = this.deps.get(name);
    this.deps.set(name, health);
    if (before?.ok !== health.ok) this.changes.emit("change");
  }

  dependencies(): ReadonlyMap<string, DependencyHealth> {
    return this.deps;
  }

  /** Ready for traffic: serving, and no dependency that calls need is down. */
  ready(): boolean {
    return this.serving && [...this.deps.values()].every((dep) => dep.ok || !dep.required);
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
    return ["", ...this.services, ...this.deps.keys()];
  }
}

/** grpc.health.v1.Health: Check, Watch and List, for load balancers and `grpc_health_probe`. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(req) {
      if (!state.knows(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status: state.status(req.service) });
    },
    async *watch(req, ctx) {
      if (!state.knows(req.service)) {
        yield create(HealthCheckResponseSchema, { status: Status.SERVICE_UNKNOWN });
        return;
      }
      yield create(HealthCheckResponseSchema, { status: state.status(req.service) });
      try {
        for await (const _ of state.changesUntil(ctx.signal)) yield create(HealthCheckResponseSchema, { status: state.status(req.service) });
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
