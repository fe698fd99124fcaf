import type { FinishReason, Logprobs, Message, Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams, VendorIdentity } from "../providers/provider.js";
import type { CallContext } from "./call-context.js";
import type { Candidate } from "./router.js";

/** How an answer relates to the response cache, as the answer says it (REST: `x-switchboard-cache`). */
export type CacheStatus = "hit" | "coalesced" | "miss";

/** A whole chat answer as the cache keeps it: what the vendor said (its identity too), and who said it. */
export interface CacheableAnswer extends VendorIdentity {
  id: string;
  message: Message;
  finishReason: FinishReason;
  /** The stop sequence the model stopped at, when its vendor said which. */
  stopSequence?: string;
  usage: Usage;
  /** The tokens' log probabilities, when the request asked for them and the vendor gave them. */
  logprobs?: Logprobs;
  served: Candidate;
}

/** What the cache said about one call. */
export interface CacheLookup {
  status: CacheStatus;
  /** The answer to give, on a hit or a coalesced call; undefined on a miss. */
  answer?: CacheableAnswer;
  /** The answer this call is getting from its vendor advanced (a streamed event came in): identical calls waiting on it keep waiting, and go their own way once it stalls. */
  progress(): void;
  /** Offers the answer this call got from its vendor: the cache keeps it if its policy allows, and hands it to identical calls waiting on this one. */
  store(answer: CacheableAnswer): void;
  /** The call is over (answered or not): calls waiting on it that got nothing go their own way. Always called, after `store` or instead of it. */
  release(): void;
}

/**
 * The pipeline's one seam to a response cache: consulted once per chat call
 * between admission and dispatch, and offered the answer after a dispatch
 * that succeeded. The cache's own knowledge (keys, policy, levels,
 * coalescing) stays behind it; codecs and the dispatcher know nothing of it.
 */
export interface ResponseCache {
  /**
   * `candidates`: those that can take the call (request fitting skipped the
   * others); the first is the one the answer is keyed on. `routed`: the first
   * candidate the router gave the call (the economy model's, for a downgraded
   * call), skipped or not: the route it comes from is the one whose cache
   * settings apply, though a fallback of another provider answers. The first
   * of `candidates` when unset.
   */
  lookup(params: ChatParams, candidates: readonly Candidate[], ctx: CallContext, routed?: Candidate): Promise<CacheLookup>;
}

/** A miss that keeps nothing. */
export const CACHE_MISS: CacheLookup = { status: "miss", progress: () => {}, store: () => {}, release: () => {} };

/** No cache: every call goes to its vendor. */
export const NO_CACHE: ResponseCache = {
  async lookup() {
    return CACHE_MISS;
  },
};
