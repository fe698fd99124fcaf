import { HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import type { HealthState } from "../common/health-state.js";

/** The JSON of /healthz and /readyz: the detail only to callers who may read it (./health-disclosure.ts). */
export type HealthBody = {
  status: "ok" | "degraded" | "draining" | "unavailable";
  dependencies?: Record<string, string>;
  providers?: Record<string, { status: "serving" } | { status: "degraded"; reason: string }>;
};

/**
 * The answer to GET /healthz (`readiness` false) or /readyz: 200, or 503 when
 * readiness fails, the same with or without the detail, so that a load
 * balancer outside the network reads what one inside does. Degraded
 * dependencies and providers are named (with what it means for calls), and
 * make the status `degraded` either way; liveness stays 200. A degraded
 * provider does not fail readiness either: every instance shares its vendor
 * keys, and the gateway's own 503 (with the reason) serves callers better
 * than a load balancer's (docs/operations.md).
 */
export function healthAnswer(health: HealthState, readiness: boolean, detailed: boolean): { httpStatus: 200 | 503; body: HealthBody } {
  const serving = !readiness || health.ready();
  const dependencies = Object.fromEntries([...health.dependencies()].map(([name, dep]) => [name, dep.ok ? "ok" : dep.detail]));
  const providers = Object.fromEntries(
    [...health.providers()].map(([name, state]) => [name, state.serving ? { status: "serving" as const } : { status: "degraded" as const, reason: state.reason }]),
  );
  const degraded = Object.values(dependencies).some((state) => state !== "ok") || Object.values(providers).some((state) => state.status !== "serving");
  const status = !serving ? (health.status() === Status.SERVING ? "unavailable" : "draining") : degraded ? "degraded" : "ok";
  return { httpStatus: serving ? 200 : 503, body: detailed ? { status, dependencies, providers } : { status } };
}
