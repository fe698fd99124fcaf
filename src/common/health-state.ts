import { EventEmitter, on } from "node:events";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";

/** A provider as health checks see it: serving, or degraded and why. */
export interface ProviderState {
  serving: boolean;
  /** Why it is degraded ("no usable key: 1 disabled by the vendor (HTTP 401)"); "" while serving. */
  reason: string;
}

/** Where providers' states are read from, computed when asked. */
export interface ProviderStates {
  names(): string[];
  of(provider: string): ProviderState;
}

/** A dependency's state, for health checks: a degraded one is named with what it means for calls. */
export interface DependencyHealth {
  ok: boolean;
  detail: string;
  /** Calls fail while it is down (a fail-closed policy): readiness fails too. */
  required: boolean;
}

/** A provider's health-check service name: "provider/openai". */
export const PROVIDER_SERVICE_PREFIX = "provider/";

/** Provider states are computed when read, so a Watch on one re-reads it this often. */
const PROVIDER_WATCH_MS = 1_000;

/**
 * Serving status of the whole server (""), of each named service, of each
 * dependency ("redis") and of each provider ("provider/openai"); the server
 * flips to NOT_SERVING on shutdown.
 */
export class HealthState {
  private serving = true;
  private readonly changes = new EventEmitter();
  private readonly deps = new Map<string, DependencyHealth>();
  private providerHealth: ProviderStates | undefined;

  constructor(private readonly services: readonly string[]) {
    this.changes.setMaxListeners(0);
  }

  knows(service: string): boolean {
    return service === "" || this.services.includes(service) || this.deps.has(service) || this.providerOf(service) !== undefined;
  }

  /** The server's status, a dependency's when `service` names one ("redis"), or a provider's ("provider/openai"). */
  status(service = ""): Status {
    const dependency = this.deps.get(service);
    if (dependency) return dependency.ok ? Status.SERVING : Status.NOT_SERVING;
    const provider = this.providerOf(service);
    if (provider !== undefined) return this.providerHealth!.of(provider).serving ? Status.SERVING : Status.NOT_SERVING;
    return this.serving ? Status.SERVING : Status.NOT_SERVING;
  }

  /** Where the providers' states are read from (their key pools and circuit breakers). */
  readProvidersFrom(providers: ProviderStates): void {
    this.providerHealth = providers;
  }

  /** Each configured provider's state, computed now. */
  providers(): Map<string, ProviderState> {
    return new Map((this.providerHealth?.names() ?? []).map((name) => [name, this.providerHealth!.of(name)]));
  }

  private providerOf(service: string): string | undefined {
    if (!service.startsWith(PROVIDER_SERVICE_PREFIX)) return undefined;
    const name = service.slice(PROVIDER_SERVICE_PREFIX.length);
    return this.providerHealth?.names().includes(name) ? name : undefined;
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

  /**
   * Resolves each time `service`'s status may have changed, until the signal
   * fires: on every recorded change, and every second for a provider, whose
   * state is computed rather than recorded.
   */
  async *changesUntil(service: string, signal: AbortSignal): AsyncGenerator<void> {
    const local = new EventEmitter();
    const wake = (): boolean => local.emit("change");
    this.changes.on("change", wake);
    const timer = this.providerOf(service) === undefined ? undefined : setInterval(wake, PROVIDER_WATCH_MS).unref();
    try {
      for await (const _ of on(local, "change", { signal })) yield;
    } finally {
      this.changes.off("change", wake);
      clearInterval(timer);
    }
  }

  names(): readonly string[] {
    return ["", ...this.services, ...this.deps.keys(), ...(this.providerHealth?.names() ?? []).map((name) => PROVIDER_SERVICE_PREFIX + name)];
  }
}
