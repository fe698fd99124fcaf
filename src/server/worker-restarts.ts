export interface WorkerRestartsOptions {
  /** Crashes older than this are forgiven. */
  windowMs?: number;
  /** More crashes than this within the window: the workers crash in a loop, give up. */
  maxCrashes?: number;
  /** The wait before the first restart in a window; doubled at each further crash. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export type RestartDecision = { restartInMs: number } | { giveUp: string };

/**
 * When to restart a worker that died, and when to stop trying: restarts back
 * off exponentially while crashes come close together, and a crash loop ends
 * the gateway (its supervisor, systemd or Kubernetes, then sees it) rather than
 * forking forever. Time comes from the caller, so tests drive it.
 */
export class WorkerRestarts {
  private readonly windowMs: number;
  private readonly maxCrashes: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private crashes: number[] = [];

  constructor(options: WorkerRestartsOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxCrashes = options.maxCrashes ?? 5;
    this.firstDelayMs = options.firstDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
  }

  crashed(nowMs: number): RestartDecision {
    this.crashes = this.crashes.filter((at) => nowMs - at < this.windowMs);
    this.crashes.push(nowMs);
    const recent = this.crashes.length;
    if (recent > this.maxCrashes) return { giveUp: `${recent} worker crashes within ${this.windowMs / 1000} s` };
    return { restartInMs: Math.min(this.firstDelayMs * 2 ** (recent - 1), this.maxDelayMs) };
  }
}
