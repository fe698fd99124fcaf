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
  /** A rough token count of the prompt plus the requested completion, for token limits. */
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
  /** The candidate of the last attempt sent, for a call none answered. */
  lastTried?: Candidate;
  usage?: Usage;
  attempts: Attempt[];
  error?: ConnectError;
  cached?: boolean;
  latencyMs: number;
}

/** The admitted call: possibly different candidates (an economy model), and what to do when it ends. */
export interface Admission {
  candidates: Candidate[];
  /** Candidates left out before dispatch (outside the key's scope), as attempts that were never sent. */
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
  /** Accounts for the call once it ended; returns what it cost (nano-units of the accounting currency) when the hooks price calls. */
  settle(outcome: CallOutcome): number | void;
}

/**
 * Hooks around every call: the gateway-key work (scopes, rate limits,
 * budgets, economy models) and the usage ledger plug in here, so the
 * pipeline itself stays the same whatever policies run.
 */
export interface CallHooks {
  /** May refuse the call (PermissionDenied, ResourceExhausted) or change its candidates. */
  admit(request: AdmissionRequest): Promise<Admission>;
  /**
   * For a call that asks no vendor and costs nothing (`/v1/messages/count_tokens`): may refuse it
   * as `admit` would for the key's scope and request rate; reserves no budget, records no usage.
   */
  admitUncharged?(request: UnchargedRequest): Promise<void>;
}

/** What `admitUncharged` judges: the key (in ctx) and the candidates the model routes to. */
export type UnchargedRequest = Pick<AdmissionRequest, "ctx" | "requestedModel" | "candidates">;

/** No policy: every call is admitted as routed. */
export const OPEN_HOOKS: CallHooks = {
  async admit(request) {
    return { candidates: request.candidates, skipped: [], downgraded: false, settle: () => {} };
  },
};
