import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ChatStreamEvent, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import { isUpstreamError } from "../providers/upstream-error.js";
import type { KeyPool } from "../secrets/key-pool.js";
import type { CallContext } from "./call-context.js";
import { toConnectError } from "./errors.js";
import type { Candidate } from "./router.js";

export interface ProviderRuntime {
  adapter: ProviderAdapter;
  pool: KeyPool;
  /** Upper bound for one attempt when the caller's deadline is later or absent. */
  timeoutMs: number;
}

/** What one attempt gets: the adapter to call and the call without its params. */
export type AttemptRun<T> = (adapter: ProviderAdapter, call: Omit<UpstreamCall<unknown>, "params">) => Promise<T>;
export type StreamOpen = (adapter: ProviderAdapter, call: Omit<UpstreamCall<unknown>, "params">) => AsyncIterable<ChatStreamEvent>;

/** The result of a dispatch: what answered, and which candidate served it. */
export interface Dispatched<T> {
  result: T;
  served: Candidate;
}

/**
 * Sends a call upstream: picks a credential from the candidate's pool, bounds
 * the attempt by the caller's deadline and the provider's timeout, records
 * each attempt (in `attempts`, the metrics and the pool's health), and turns
 * failures into ConnectErrors. Retries, failover and breakers live here.
 */
export class Dispatcher {
  constructor(
    private readonly providers: ReadonlyMap<string, ProviderRuntime>,
    private readonly metrics: GatewayMetrics,
  ) {}

  runtime(provider: string): ProviderRuntime | undefined {
    return this.providers.get(provider);
  }

  async unary<T>(candidates: readonly Candidate[], ctx: CallContext, attempts: Attempt[], run: AttemptRun<T>): Promise<Dispatched<T>> {
    const candidate = candidates[0]!;
    const runtime = this.providers.get(candidate.provider)!;
    const attempt = this.begin(candidate, runtime, ctx, attempts);
    try {
      const result = await run(runtime.adapter, attempt.call);
      attempt.end();
      return { result, served: candidate };
    } catch (err) {
      attempt.end(err);
      throw toConnectError(err, ctx.signal);
    }
  }

  async *stream(candidates: readonly Candidate[], ctx: CallContext, attempts: Attempt[], open: StreamOpen): AsyncGenerator<ChatStreamEvent, Candidate> {
    const candidate = candidates[0]!;
    const runtime = this.providers.get(candidate.provider)!;
    const attempt = this.begin(candidate, runtime, ctx, attempts);
    try {
      yield* open(runtime.adapter, attempt.call);
      attempt.end();
      return candidate;
    } catch (err) {
      attempt.end(err);
      throw toConnectError(err, ctx.signal);
    } finally {
      // The consumer stopped early (client went away): the attempt still needs an end.
      attempt.end(new Error("abandoned"), true);
    }
  }

  /** Starts one attempt; `end` records it once, whichever way it ends. */
  private begin(candidate: Candidate, runtime: ProviderRuntime, ctx: CallContext, attempts: Attempt[]) {
    const credential = runtime.pool.pick();
    const started = performance.now();
    ctx.info.provider = candidate.provider;
    ctx.info.model = candidate.upstreamModel;
    let ended = false;
    return {
      call: { upstreamModel: candidate.upstreamModel, credential, signal: attemptSignal(ctx.signal, runtime.timeoutMs) },
      end: (err?: unknown, abandoned = false): void => {
        if (ended) return;
        ended = true;
        const ms = performance.now() - started;
        const upstream = isUpstreamError(err) ? err : undefined;
        const outcome = err === undefined ? "ok" : abandoned ? "cancelled" : (upstream?.kind ?? "error");
        if (upstream) runtime.pool.report(credential.id, { ok: false, error: upstream });
        else if (err === undefined) runtime.pool.report(credential.id, { ok: true });
        this.metrics.recordUpstream(candidate.provider, err === undefined ? "200" : (upstream?.outcome ?? outcome), ms / 1000);
        attempts.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome, duration: durationFromMs(Math.round(ms)) }));
      },
    };
  }
}

/** The caller's signal, bounded by the provider's own timeout. */
function attemptSignal(caller: AbortSignal, timeoutMs: number): AbortSignal {
  return AbortSignal.any([caller, AbortSignal.timeout(timeoutMs)]);
}
