import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { NO_CALL_TRACE, type AttemptReason } from "../observability/call-trace.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { isUpstreamError, UpstreamError } from "../providers/upstream-error.js";
import type { Credential } from "../secrets/credential.js";
import { isOwnCut, type AttemptBound, type Wait } from "./adaptive-timeout.js";
import { markPromptBilled, markRequestSent, neverSent, NOT_SENT } from "./attempt-sent.js";
import type { PlanCall } from "./call-plan.js";
import type { BreakerPermit } from "./circuit-breaker.js";
import type { AttemptCall, ProviderRuntime } from "./provider-runtime.js";
import { breakerVerdict } from "./retry-policy.js";
import type { Candidate } from "./router.js";
import type { StartTimer } from "./timers.js";

/** One attempt about to be sent: the candidate, its runtime, the key, and the provider breaker's leave. */
export interface Target {
  candidate: Candidate;
  runtime: ProviderRuntime;
  credential: Credential;
  permit?: BreakerPermit;
  hedged: boolean;
}

/**
 * What an attempt waits for first (a unary answer, a stream's first event),
 * under which bound, and after how long the vendor's silence shows a hang
 * whoever ends the attempt: the longest the gateway lets an attempt of the
 * pair wait when another may follow, the caller's deadline aside.
 */
export interface FirstWait {
  wait: "answer" | "first_token";
  bound: AttemptBound;
  hungAfterMs: number;
}

export interface AttemptDeps {
  metrics: GatewayMetrics;
  now: () => number;
  timer: StartTimer;
}

/** A started attempt: the call to hand the adapter, and how it ends (once). */
export interface RunningAttempt {
  call: AttemptCall;
  abort(reason: unknown): void;
  /** Streams: waits for the next event under `bound`; so it bounds silence, not the length of an answer. */
  wait(next: Wait, bound: AttemptBound): void;
  /** Streams: stops the clock while the consumer holds an event. */
  pause(): void;
  /** What the attempt was waiting for, and under which bound, when the bound cut it. */
  cut(): { wait: Wait; bound: AttemptBound } | undefined;
  elapsed(): number;
  /**
   * Records the attempt once, whichever way it ended, and returns its
   * duration: its row in the call's attempts, the provider breaker's verdict,
   * the key pool's (the one judge of a key's health), the upstream metrics.
   */
  end(err?: unknown, abandoned?: boolean): number;
}

/**
 * Starts one attempt of `call`, bounded by `first.bound` while it waits for
 * `first.wait`. Its row goes into `log` in the order attempts start (a hedge's
 * winner may end first), filled in when it ends; its span is a child of the
 * call's (a no-op while tracing is off). One controller per attempt, fired
 * by the caller, the attempt's bound or a lost hedge.
 */
export function startAttempt(target: Target, call: PlanCall, log: Attempt[], first: FirstWait, deps: AttemptDeps): RunningAttempt {
  const { candidate, runtime, credential, permit } = target;
  const signal = call.signal;
  const controller = new AbortController();
  const started = deps.now();
  const span = (call.trace ?? NO_CALL_TRACE).attempt(target, reasonFor(target, log));
  call.upstream?.attemptStarted();
  const record = create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "pending", hedged: target.hedged });
  log.push(record);
  const abort = (reason: unknown): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onCallerAbort = (): void => abort(signal.reason);
  if (signal.aborted) onCallerAbort();
  else signal.addEventListener("abort", onCallerAbort, { once: true });
  let waiting: { wait: Wait; bound: AttemptBound } = { wait: first.wait, bound: first.bound };
  let cut: typeof waiting | undefined;
  // While the consumer holds a stream's event the timer stays armed and a firing is ignored: stopping it there and
  // arming it again at the next wait() would cost a new timer per event, where wait() can re-arm this one.
  let paused = false;
  /** Whether the vendor has sent an event (streams): a silence after it is no hang of the vendor's. */
  let heard = false;
  const timer = deps.timer(first.bound.ms, () => {
    if (paused || controller.signal.aborted) return;
    cut = waiting;
    deps.metrics.attemptsCut.inc({ provider: candidate.provider, wait: cut.wait, bound: cut.bound.rule });
    abort(timeoutError(cutMessage(candidate.provider, cut)));
  });
  let ended = false;
  let duration = 0;
  return {
    call: {
      upstreamModel: candidate.upstreamModel,
      credential,
      signal: controller.signal,
      headers: span.headers,
      requestSent: () => markRequestSent(record),
      promptBilled: (promptTokens) => markPromptBilled(record, promptTokens),
    },
    abort,
    wait(next, nextBound) {
      if (ended) return;
      paused = false;
      if (waiting.wait !== next || waiting.bound !== nextBound) waiting = { wait: next, bound: nextBound };
      timer.restart(nextBound.ms);
    },
    pause() {
      paused = true;
      heard = true;
      span.firstToken();
    },
    cut: () => cut,
    elapsed: () => deps.now() - started,
    end(err, abandoned = false) {
      if (ended) return duration;
      ended = true;
      const ms = (duration = Math.max(0, deps.now() - started));
      timer.stop();
      signal.removeEventListener("abort", onCallerAbort);
      const upstream = isUpstreamError(err) ? err : undefined;
      const outcome = err === undefined ? "ok" : abandoned ? "cancelled" : (upstream?.kind ?? "error");
      // The pool's lines about what this outcome changed (a key disabled, benched) name the call.
      const causing = { requestId: call.requestId, traceId: call.trace?.traceId };
      // A hang: no answer (a stream: no first event) when the learnt bound cut the attempt (it comes from the pair's
      // real latency), or when the deadline share cut it or the caller's deadline or hang-up ended it after a wait past
      // the longest the gateway lets such an attempt wait (`hungAfterMs`). Were that neutral, a vendor that hangs would
      // never count against its breaker (callers with deadlines end every attempt of it so). A shorter wait says
      // nothing: the caller chose it, by its deadline or by the share of it; a slow but healthy vendor (3 s answers,
      // 4 s deadlines) would otherwise open its breaker for every caller.
      const silentLong = ms >= first.hungAfterMs;
      const silent = !abandoned && !heard && (cut ? cut.bound.rule === "learnt" || (cut.bound.rule === "deadline" && silentLong) : signal.aborted && silentLong);
      if (err === undefined) {
        permit?.success();
        runtime.pool.report(credential, { ok: true, model: candidate.upstreamModel, call: causing });
      } else if (silent) {
        // A timeout for the breaker (once per caller), unless the provider answered another call meanwhile (then this
        // answer was merely long). The pool hears a cancellation: a vendor that hangs is the breaker's to judge.
        permit?.wentSilent(call.principal?.keyId, started);
        runtime.pool.report(credential, { ok: false, error: cancelledBy(candidate.provider, credential.id), call: causing });
      } else if (abandoned || signal.aborted || !upstream || upstream.kind === "cancelled" || isOwnCut(cut?.bound.rule)) {
        // The caller's cancellation or deadline, a lost hedge, or a cut of an attempt the vendor had begun to answer:
        // nothing learnt about the vendor or the key (the pool still hears of it, as a cancellation, so that a probe
        // it handed out is settled).
        permit?.release();
        runtime.pool.report(credential, { ok: false, error: cancelledBy(candidate.provider, credential.id), call: causing });
      } else {
        judge(permit, breakerVerdict(upstream), call.principal?.keyId);
        runtime.pool.report(credential, { ok: false, error: upstream, caller: call.principal?.keyId, model: candidate.upstreamModel, call: causing });
      }
      // The vendor's HTTP status, on the metrics and the span alike: a success is recorded as 200 (what vendors answer the requests sent).
      const status = err === undefined ? "200" : upstream?.outcome;
      // An attempt that never reached the vendor (cut while it waited for a connection, its connection refused) was
      // never billed: its record (the call's attempts, the ledger's attempt log) says so. The metric tells the vendor's
      // health: a refused connection stays `unreachable` there; only a cut before sending, which says nothing of it, is not_sent.
      const unsent = neverSent(record, err, heard);
      const cutUnsent = unsent && (outcome === "cancelled" || outcome === "timeout");
      deps.metrics.recordUpstream(candidate.provider, cutUnsent ? NOT_SENT : (status ?? outcome), ms / 1000);
      call.upstream?.attemptEnded();
      span.end(outcome, status);
      record.outcome = unsent ? NOT_SENT : outcome;
      record.duration = durationFromMs(Math.round(ms));
      return ms;
    },
  };
}

/** Outcomes of candidates skipped without a call (call-plan.ts): not attempts a later one follows. */
export const SKIPPED = new Set(["circuit_open", "keys_unavailable"]);

/**
 * A target the plan handed out that is not sent after all (the call's budget
 * cannot take another attempt): its breaker leave and its key (a probe,
 * perhaps: its place is freed at once) are given back, with nothing to judge.
 */
export function unsent(target: Target): void {
  target.permit?.release();
  target.runtime.pool.release(target.credential);
}

/** Why this attempt: a hedge, the call's first, another on the candidate just tried (a retry), or the next candidate. */
function reasonFor(target: Target, log: readonly Attempt[]): AttemptReason {
  if (target.hedged) return "hedge";
  for (let i = log.length - 1; i >= 0; i--) {
    const previous = log[i]!;
    if (SKIPPED.has(previous.outcome)) continue;
    return previous.provider === target.candidate.provider && previous.model === target.candidate.upstreamModel ? "retry" : "failover";
  }
  return "first";
}

function cancelledBy(provider: string, credentialId: string): UpstreamError {
  return new UpstreamError({ kind: "cancelled", provider, credentialId, message: "the attempt was cancelled" });
}

function judge(permit: BreakerPermit | undefined, verdict: ReturnType<typeof breakerVerdict>, caller: string | undefined): void {
  if (!permit) return;
  if (verdict === "success") permit.success();
  else if (verdict === "failure") permit.failure();
  else if (verdict === "timeout") permit.timedOut(caller);
  else permit.release();
}

/**
 * Why a bound cut an attempt, in terms of what was awaited: a vendor may have
 * trickled bytes (headers, half an event) all along, so "sent nothing" would not be true.
 */
function cutMessage(provider: string, cut: { wait: Wait; bound: AttemptBound }): string {
  const what = { answer: "did not finish its answer within", first_token: "sent no first token within", silence: "sent no further event for" }[cut.wait];
  return `provider "${provider}" ${what} ${cut.bound.ms} ms (${cut.wait}, ${cut.bound.rule} bound)`;
}

/** An abort reason adapters classify as a timeout (kind "timeout"), like AbortSignal.timeout's. */
function timeoutError(message: string): DOMException {
  return new DOMException(message, "TimeoutError");
}
