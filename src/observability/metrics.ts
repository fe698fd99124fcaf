import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Every metric of one gateway instance, on its own registry (no global state). */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "switchboard_requests_total",
    help: "API calls by method and result code.",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: "switchboard_request_duration_seconds",
    help: "API call duration by method and result code (streams: until the last message).",
    labelNames: ["method", "code"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: "switchboard_upstream_requests_total",
    help: "Upstream vendor calls by provider and status (HTTP status, or an error kind when there was none).",
    labelNames: ["provider", "status"] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: "switchboard_upstream_duration_seconds",
    help: "Upstream vendor call duration by provider and status.",
    labelNames: ["provider", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  recordRequest(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.requestDuration.observe({ method, code }, seconds);
  }

  recordUpstream(provider: string, status: string, seconds: number): void {
    this.upstreamRequests.inc({ provider, status });
    this.upstreamDuration.observe({ provider, status }, seconds);
  }
}
