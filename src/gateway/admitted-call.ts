import { FinishReason, type Message, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { ConnectError } from "@connectrpc/connect";
import { SKIPPED } from "./attempt.js";
import { billedPrompt, NOT_SENT, requestSent } from "./attempt-sent.js";
import type { CallContext } from "./call-context.js";
import type { Admission, CallKind, CutPrompt } from "./call-hooks.js";
import { DispatchFailure, type DispatchOutcome } from "./dispatch-outcome.js";
import type { AttemptGate } from "./dispatcher.js";
import { toConnectError } from "./errors.js";
import type { Candidate } from "./router.js";

const NOTHING_SENT: DispatchOutcome = { attempts: [] };

/**
 * How long an answer waits for its call's charge to be counted (`counted`): a
 * spend counter that does not take it by then keeps it to send again, and the
 * caller is not held up by a slow Redis (a Cluster failover may take seconds).
 */
const COUNTED_WAIT_MS = 500;

/** What the call asked: its kind, the model, and (chat) the messages, for traces that record content. */
export interface CallRequest {
  kind: CallKind;
  model: string;
  messages?: readonly Message[];
  /** The prompt's usage (an estimate): what a call cut after its request went out is charged. */
  promptUsage?: () => Usage;
}

/**
 * How attempts the gateway cut end: the caller left or its deadline passed,
 * the attempt's bound did, or a hedge lost. One cut after its request went out
 * (the transport wrote it whole: requestSent) is charged its prompt: the vendor
 * had it and bills it; what it bills beyond (an answer nobody read) it never
 * says. One cut before (queued for a connection, its connection still opening)
 * never reached the vendor, and is charged nothing, as a call whose deadline
 * passed before any attempt started.
 */
const CUT_ATTEMPTS = new Set(["cancelled", "timeout"]);

/** Whether the vendor can bill the attempt's prompt though it never answered: cut after its request went out. */
function cutAfterSending(attempt: Attempt): boolean {
  return CUT_ATTEMPTS.has(attempt.outcome) && requestSent(attempt);
}

/** What the vendor answered besides usage, for the call's report. */
export interface AnswerFacts {
  id: string;
  finishReason: FinishReason;
  message?: { content: string };
}

/**
 * A call the hooks admitted, until it is settled: once, with how it went.
 * Settling is the one place a call's outcome goes anywhere: to the hooks
 * (limits, budgets, the ledger) and to the caller's log line (`ctx.report`).
 * Before each attempt after its first, it asks the hooks (`anotherAttempt`),
 * which may grow the call's budget reservation or refuse the attempt.
 */
export class AdmittedCall implements AttemptGate {
  private readonly started = performance.now();
  private done = false;
  private sent = false;
  private firstTokenAt: number | undefined;

  constructor(
    readonly admission: Admission,
    private readonly ctx: CallContext,
    private readonly request: CallRequest,
  ) {
    ctx.trace?.admitted(request.kind, request.model);
  }

  get candidates(): Candidate[] {
    return this.admission.candidates;
  }

  get settled(): boolean {
    return this.done;
  }

  /** An attempt is about to be sent to a vendor: the first one tells the hooks (Admission.dispatching). */
  sending(provider: string, upstreamModel: string): void {
    if (this.sent || this.done) return;
    this.sent = true;
    this.admission.dispatching?.({ provider, upstreamModel }, this.request.promptUsage?.());
  }

  /**
   * Another attempt is about to go to `next` (a retry, a failover, a hedge):
   * the hooks hear which of the attempts `sent` so far may be charged besides
   * the one that answers, and may refuse it (throwing the call's error).
   */
  async beforeExtraAttempt(next: Candidate, sent: readonly Attempt[]): Promise<void> {
    if (this.done || !this.admission.anotherAttempt) return;
    const earlier = sent.filter((attempt) => this.mayBeCharged(attempt)).map((attempt) => ({ provider: attempt.provider, upstreamModel: attempt.model }));
    await this.admission.anotherAttempt(next, earlier, this.request.promptUsage?.());
  }

  /** Streams: the first token is going out to the caller (time to first token). */
  firstToken(): void {
    this.firstTokenAt ??= performance.now();
  }

  /**
   * Settles a call that answered; returns every attempt in order (the scope's
   * skips first), for the answer. `cached`: the response cache answered (no
   * vendor call of its own). `answer`: the vendor's id, finish reason and text, for the report.
   */
  succeed(outcome: DispatchOutcome, usage: Usage, cached = false, answer?: AnswerFacts): Attempt[] {
    // The attempts cut before the one that served (timeouts, a hedge's loser) were billed their prompt too.
    return this.settle(outcome, { usage, cutPrompts: this.cutPrompts(outcome.attempts), cached }, answer);
  }

  /**
   * Settles a call that failed and returns the error the caller gets.
   * `usage`: what a stream generated before it failed; without it, a call
   * cut after its request went out is charged its prompt, never nothing.
   */
  fail(err: unknown, outcome?: DispatchOutcome, usage?: Usage): ConnectError {
    const error = err instanceof DispatchFailure ? err.error : toConnectError(err, this.ctx.signal);
    const dispatched = err instanceof DispatchFailure ? err.outcome : (outcome ?? NOTHING_SENT);
    // A stream's partial answer already charges the attempt that sent it; every other cut attempt, its prompt.
    const last = dispatched.attempts.at(-1);
    const charged = usage && last && CUT_ATTEMPTS.has(last.outcome) ? dispatched.attempts.slice(0, -1) : dispatched.attempts;
    this.settle(dispatched, { usage, cutPrompts: this.cutPrompts(charged), error });
    return error;
  }

  /**
   * Resolves once the settled call's charge is counted where every instance
   * reads it, within COUNTED_WAIT_MS; never rejects. Awaited before the
   * answer's end goes out: a client that calls again as soon as it has an
   * answer, through another instance behind the same balancer, finds that
   * call's reservation gone, not holding its budget still.
   */
  async counted(): Promise<void> {
    const counting = this.admission.counted?.();
    if (!counting) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([counting, new Promise<void>((resolve) => (timer = setTimeout(resolve, COUNTED_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** Runs the rest of the call and passes on its answer or its error once the call is counted (`counted`). */
  async answering<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.counted();
    }
  }

  /**
   * The prompt each attempt that did not answer left its vendor to bill, at its own candidate: what its
   * requests told (an embedding's batches: those answered, and those cut once sent), else, for one cut
   * after its request went out, the prompt's estimate.
   */
  private cutPrompts(attempts: readonly Attempt[]): CutPrompt[] {
    let estimate: number | undefined;
    return attempts.flatMap((attempt) => {
      const promptTokens = billedPrompt(attempt) ?? (cutAfterSending(attempt) ? (estimate ??= this.request.promptUsage?.().promptTokens ?? 0) : 0);
      return promptTokens > 0 ? [{ candidate: { provider: attempt.provider, upstreamModel: attempt.model }, promptTokens }] : [];
    });
  }

  /**
   * Whether an attempt sent may be charged besides the one that answers: cut
   * after its request went out, or still running (a hedge's primary); of an
   * embedding, any that failed once sent, the batches it had sent having been billed.
   */
  private mayBeCharged(attempt: Attempt): boolean {
    if (attempt.outcome === "pending" || cutAfterSending(attempt)) return true;
    return this.request.kind === "embed" && attempt.outcome !== "ok" && attempt.outcome !== NOT_SENT && !SKIPPED.has(attempt.outcome);
  }

  private settle(outcome: DispatchOutcome, result: { usage?: Usage; cutPrompts?: CutPrompt[]; error?: ConnectError; cached?: boolean }, answer?: AnswerFacts): Attempt[] {
    const attempts = [...this.admission.skipped, ...outcome.attempts];
    if (this.done) return attempts;
    this.done = true;
    const costNanos = this.admission.settle({ ...result, served: outcome.served, lastTried: outcome.lastTried, attempts, latencyMs: performance.now() - this.started });
    const reached = outcome.served ?? outcome.lastTried;
    const { kind, model, messages } = this.request;
    this.ctx.report?.({
      requestedModel: model,
      provider: reached?.provider,
      model: reached?.upstreamModel,
      downgraded: this.admission.downgraded,
      kind,
      attempts: outcome.attempts.length,
      inputTokens: inputTokens(result.usage, result.cutPrompts),
      outputTokens: result.usage?.completionTokens,
      responseId: answer?.id || undefined,
      finishReason: answer ? FINISH_REASONS[answer.finishReason] : undefined,
      firstTokenAt: this.firstTokenAt,
      cache: result.cached ? "hit" : undefined,
      costNanos: costNanos ?? undefined,
      content: messages && { input: messages, output: answer?.message?.content },
    });
    return attempts;
  }
}

/** Every prompt token vendors were sent for the call, the cut attempts' included; undefined when none is known. */
function inputTokens(usage: Usage | undefined, cut: readonly CutPrompt[] = []): number | undefined {
  if (!usage && cut.length === 0) return undefined;
  return cut.reduce((sum, prompt) => sum + prompt.promptTokens, usage?.promptTokens ?? 0);
}

/** Finish reasons as OpenTelemetry's GenAI conventions (and OpenAI) spell them. */
const FINISH_REASONS: Record<FinishReason, string | undefined> = {
  [FinishReason.UNSPECIFIED]: undefined,
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.CONTENT_FILTER]: "content_filter",
  [FinishReason.REFUSAL]: "refusal",
  // Apart from "length": raising max_tokens does not help such a call (Anthropic's and Zhipu's name).
  [FinishReason.CONTEXT_WINDOW_EXCEEDED]: "model_context_window_exceeded",
};
