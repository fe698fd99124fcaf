import type { ConnectError } from "@connectrpc/connect";
import type { Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { CallContext } from "./call-context.js";
import type { Candidate } from "./router.js";

export type CallKind = "chat" | "chat_stream" | "embed";

/** What the pipeline knows about a call before it is dispatched. */
export interface AdmissionRequest {
  ctx: CallContext;
  kind: CallKind;
  requestedModel: string;
  candidates: Candidate[];
  /** What a token rate limit takes at admission (reconciled with the real count after the call): the bound below at the candidate that could use the most (`rateLimitTokens`). */
  estimatedTokens: number;
  /** An upper bound of the call's tokens (prompt and the most the answer may be), for the budget to reserve. */
  boundTokens: number;
  /** The bound for one candidate, where its model's limits are known (the model catalogue); `boundTokens` otherwise. */
  boundTokensFor?: (candidate: Candidate) => number;
}

/** How a call ended, for limits to reconcile and the ledger to record. */
export interface CallOutcome {
  /** The candidate that answered. */
  served?: Candidate;
  /** The candidate of the last attempt sent (or skipped, when none was), for a call none answered. */
  lastTried?: Candidate;
  /** What the model of `served` (or `lastTried`) reported, or what is estimated of it; none for a call it charged nothing. */
  usage?: Usage;
  /**
   * Prompts the call is charged for attempts cut after their request went out
   * (a timeout, a hedge's loser; see admitted-call.ts), one per attempt, each
   * at its own model: not part of `usage`.
   */
  cutPrompts?: CutPrompt[];
  attempts: Attempt[];
  error?: ConnectError;
  cached?: boolean;
  latencyMs: number;
}

/** The estimated prompt of one attempt cut after its request went out, and the candidate whose vendor had it. */
export interface CutPrompt {
  candidate: Candidate;
  promptTokens: number;
}

/** The admitted call: possibly different candidates (an economy model), and what to do when it ends. */
export interface Admission {
  candidates: Candidate[];
  /** Candidates left out before dispatch (outside the key's scope, or with no price for a key with a budget), as attempts that were never sent. */
  skipped: Attempt[];
  downgraded: boolean;
  /**
   * The call's first attempt is about to go to `first`, whose vendor bills the
   * prompt from then on, whatever becomes of this process: the hooks may note
   * it (the usage ledger's provisional entry). `prompt`: the prompt's
   * estimated usage. Called once at most, and never for a call no vendor is
   * sent (refused, answered from the cache).
   */
  dispatching?(first: Candidate, prompt: Usage | undefined): void;
  /**
   * Another attempt of the call is about to go to `next` (a retry, a
   * failover, a hedge) while `earlier` ones may be charged their prompt
   * besides the attempt that answers (cut or still running; an embedding's
   * failed one too, whose finished batches were billed): the hooks may grow what they hold for the
   * call first (its budget reservation), or refuse by throwing the error the
   * call ends with; the attempt is then not sent. `prompt`: the prompt's
   * estimated usage.
   */
  anotherAttempt?(next: Candidate, earlier: readonly Candidate[], prompt: Usage | undefined): Promise<void>;
  /** Accounts for the call once it ended; returns what it cost (nano-units of the accounting currency) when the hooks price calls. */
  settle(outcome: CallOutcome): number | void;
  /**
   * After `settle`: resolves (never rejects) once what it charged is counted where every instance reads it (the
   * shared spend counter and token limits), so that a caller holding the answer who calls again, through any
   * instance, finds the call's reservation gone and its cost counted. Undefined when there is nothing to wait for.
   */
  counted?(): Promise<void> | undefined;
}

/**
 * Hooks around every call: the gateway-key work (scopes, rate limits,
 * budgets, economy models) and the usage ledger plug in here, so the
 * pipeline itself stays the same whatever policies run.
 */
export interface CallHooks {
  /** May refuse the call (PermissionDenied, ResourceExhausted, FailedPrecondition) or change its candidates. */
  admit(request: AdmissionRequest): Promise<Admission>;
  /**
   * For a call that asks no vendor and costs nothing (`/v1/messages/count_tokens`): may refuse it
   * as `admit` would for the key's scope; takes no tokens, reserves no budget, records no usage.
   */
  admitUncharged?(request: UnchargedRequest): Promise<void>;
  /**
   * Before a surface does costly work to build a call whose model it knows
   * (the Responses surface loading the stored conversation it continues):
   * may refuse it as `admit` surely would, for the key's scope or a budget
   * already spent. Takes and reserves nothing: the call's admission does.
   */
  precheck?(request: PrecheckRequest): Promise<void>;
}

/** What `admitUncharged` judges: the key (in ctx) and the candidates the model routes to. */
export type UnchargedRequest = Pick<AdmissionRequest, "ctx" | "requestedModel" | "candidates">;

/** What `precheck` judges: an uncharged request's, and the call's kind (for the ledger row of a refusal). */
export type PrecheckRequest = Pick<AdmissionRequest, "ctx" | "kind" | "requestedModel" | "candidates">;

/** No policy: every call is admitted as routed. */
export const OPEN_HOOKS: CallHooks = {
  async admit(request) {
    return { candidates: request.candidates, skipped: [], downgraded: false, settle: () => {} };
  },
};
