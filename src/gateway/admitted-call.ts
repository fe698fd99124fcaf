import type { Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { ConnectError } from "@connectrpc/connect";
import type { CallContext } from "./call-context.js";
import type { Admission } from "./call-hooks.js";
import { DispatchFailure, type DispatchOutcome } from "./dispatch-outcome.js";
import { toConnectError } from "./errors.js";
import type { Candidate } from "./router.js";

const NOTHING_SENT: DispatchOutcome = { attempts: [] };

/**
 * A call the hooks admitted, until it is settled: once, with how it went.
 * Settling is the one place a call's outcome goes anywhere: to the hooks
 * (limits, budgets, the ledger) and to the caller's log line (`ctx.report`).
 */
export class AdmittedCall {
  private readonly started = performance.now();
  private done = false;

  constructor(
    readonly admission: Admission,
    private readonly ctx: CallContext,
    private readonly requestedModel: string,
  ) {}

  get candidates(): Candidate[] {
    return this.admission.candidates;
  }

  get settled(): boolean {
    return this.done;
  }

  /** Settles a call that answered; returns every attempt in order (the scope's skips first), for the answer. */
  succeed(outcome: DispatchOutcome, usage: Usage): Attempt[] {
    return this.settle(outcome, { usage });
  }

  /** Settles a call that failed and returns the error the caller gets. `usage`: what a stream generated before it failed. */
  fail(err: unknown, outcome?: DispatchOutcome, usage?: Usage): ConnectError {
    const error = err instanceof DispatchFailure ? err.error : toConnectError(err, this.ctx.signal);
    this.settle(err instanceof DispatchFailure ? err.outcome : (outcome ?? NOTHING_SENT), { usage, error });
    return error;
  }

  private settle(outcome: DispatchOutcome, result: { usage?: Usage; error?: ConnectError }): Attempt[] {
    const attempts = [...this.admission.skipped, ...outcome.attempts];
    if (this.done) return attempts;
    this.done = true;
    this.admission.settle({ ...result, served: outcome.served, lastTried: outcome.lastTried, attempts, latencyMs: performance.now() - this.started });
    const reached = outcome.served ?? outcome.lastTried;
    this.ctx.report?.({ requestedModel: this.requestedModel, provider: reached?.provider, model: reached?.upstreamModel, downgraded: this.admission.downgraded });
    return attempts;
  }
}
