import { performance } from "node:perf_hooks";
import { ConfigError } from "../config/config-error.js";

/**
 * How long a rendered /metrics text is served again. Rendering walks the whole
 * registry on the event loop (milliseconds with thousands of series), and by
 * default anyone who reaches the port may scrape: within this window any number
 * of scrapes cost one render, and no scrape reads figures older than this.
 * Prometheus scrapes far less often, so it always gets a fresh render.
 */
export const METRICS_RENDER_REUSE_MS = 1_000;

/** A longer window would serve stale figures to a scraper that reads often on purpose. */
const MAX_REUSE_MS = 60_000;

/** `SWITCHBOARD_METRICS_REUSE_MS`: the window in milliseconds (0: render at every scrape that does not join one in flight). */
export function metricsReuseFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.SWITCHBOARD_METRICS_REUSE_MS?.trim();
  if (raw === undefined || raw === "") return METRICS_RENDER_REUSE_MS;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) > MAX_REUSE_MS) {
    throw new ConfigError("environment", "SWITCHBOARD_METRICS_REUSE_MS", `"${raw.slice(0, 20)}" is not a whole number of milliseconds from 0 to ${MAX_REUSE_MS}`);
  }
  return Number(raw);
}

export interface MetricsRenderOptions {
  /** How long a rendered text is served again; METRICS_RENDER_REUSE_MS by default, 0 to render at every scrape not joining one in flight. */
  reuseMs?: number;
  /** Milliseconds on a clock that only moves forward (tests drive it). */
  now?: () => number;
}

/** One render of the metrics text shared by every scrape while it runs, then served again for a short window. */
export class MetricsRenderCache {
  private readonly reuseMs: number;
  private readonly now: () => number;
  private inFlight: Promise<string> | undefined;
  private last: { text: string; startedAt: number } | undefined;

  constructor(
    private readonly render: () => Promise<string>,
    options: MetricsRenderOptions = {},
  ) {
    this.reuseMs = options.reuseMs ?? METRICS_RENDER_REUSE_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The metrics text, no older than the reuse window. A failed render is not kept: the next scrape tries again. */
  text(): Promise<string> {
    const now = this.now();
    // Aged from the render's start, when its figures were read.
    if (this.last && now - this.last.startedAt < this.reuseMs) return Promise.resolve(this.last.text);
    if (this.inFlight) return this.inFlight;
    const rendering = this.render().then((text) => {
      this.last = { text, startedAt: now };
      return text;
    });
    this.inFlight = rendering;
    const settled = () => {
      if (this.inFlight === rendering) this.inFlight = undefined;
    };
    rendering.then(settled, settled);
    return rendering;
  }
}
