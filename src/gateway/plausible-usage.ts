// A vendor's token counts, checked against what the call could have used
// before anything trusts them: the answer, the response cache, the usage
// ledger, the budget and the token limit all get the counts kept here. The
// codecs already refuse counts that are no token counts at all
// (vendor-usage.ts); this is about counts that are well formed and still look
// untrue of this call. A part past its whole (cached past the prompt) cannot
// be true and is cut. A count past the call's bounds (the context window, the
// max_tokens sent) is told and kept: a vendor that samples more than once for
// one call (Anthropic's compaction and server tools, OpenAI's built-in tools)
// honestly bills past them, and the ledger must agree with the vendor's bill.
import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_TOKEN_COUNT } from "../providers/vendor-usage.js";
import type { Candidate } from "./router.js";

/** The most a call to one model could use, where the gateway knows it (undefined: no bound known). */
export interface UsageLimits {
  /** The model's context window (the model catalogue). */
  promptTokens?: number;
  /** The output bound sent upstream (max_tokens as fitted), with the reasoning the model may spend beyond it. */
  completionTokens?: number;
}

/** The counts held to a bound, as the vendor's wire names them. */
export type UsageField = "prompt_tokens" | "completion_tokens" | "cached_tokens" | "cache_write_tokens" | "cache_write_1h_tokens" | "reasoning_tokens";

/** One count not kept as told, or kept though past the call's bound (`bound`). */
export interface UsageCorrection {
  field: UsageField;
  reported: number;
  kept: number;
  /** The bound the count is past, for one kept as told. */
  bound?: number;
}

/** A count as a whole number from 0 to `most`: a fraction rounds up (as the gateway's estimates do), anything else not a count is 0. */
function whole(count: number, most = MAX_TOKEN_COUNT): number {
  if (Number.isNaN(count) || count <= 0) return 0;
  return Math.min(Math.ceil(count), most, MAX_TOKEN_COUNT);
}

/**
 * `usage` with every count a whole number from 0 up, and each part at most its
 * whole: the cached and written prompt tokens at most the prompt, the
 * reasoning at most the completion. A prompt past the context window or a
 * completion past the output bound is kept, and told (an `estimate` of the
 * gateway's own is held to the bound). The total is kept
 * unless a count it adds up was changed (then it is their sum).
 * `corrections`: each count not kept as told, or past its bound.
 */
export function plausibleUsage(usage: Usage, limits: UsageLimits, estimate = false): { usage: Usage; corrections: UsageCorrection[] } {
  const corrections: UsageCorrection[] = [];
  const keep = (field: UsageField, reported: number, most?: number): number => {
    const kept = whole(reported, most);
    if (kept !== reported) corrections.push({ field, reported, kept });
    return kept;
  };
  const bounded = (field: UsageField, reported: number, bound?: number): number => {
    // The gateway's own estimate past a bound is the estimate's error: held to it.
    if (estimate) return keep(field, reported, bound);
    const kept = keep(field, reported);
    if (bound !== undefined && kept > bound) corrections.push({ field, reported, kept, bound });
    return kept;
  };
  const promptTokens = bounded("prompt_tokens", usage.promptTokens, limits.promptTokens);
  const completionTokens = bounded("completion_tokens", usage.completionTokens, limits.completionTokens);
  const cachedTokens = keep("cached_tokens", usage.cachedTokens, promptTokens);
  const cacheWriteTokens = keep("cache_write_tokens", usage.cacheWriteTokens, promptTokens);
  const cacheWrite1hTokens = keep("cache_write_1h_tokens", usage.cacheWrite1hTokens, cacheWriteTokens);
  const reasoningTokens = keep("reasoning_tokens", usage.reasoningTokens, completionTokens);
  if (corrections.every((correction) => correction.kept === correction.reported)) return { usage, corrections };
  const cut = promptTokens !== usage.promptTokens || completionTokens !== usage.completionTokens;
  const totalTokens = cut ? promptTokens + completionTokens : whole(usage.totalTokens);
  const kept = create(UsageSchema, { ...usage, promptTokens, completionTokens, totalTokens, cachedTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens });
  return { usage: kept, corrections };
}

/**
 * One call's usage, checked against its limits (`limitsOf` the candidate that
 * served) wherever it comes from. A vendor's report that was corrected or is
 * past a bound is told (`tell`) once for the call: a stream may repeat a
 * running usage in every event. The gateway's own estimates are held to the
 * limits silently: an estimate past a bound is the estimate's error.
 */
export class PlausibleUsage {
  private told = false;

  constructor(
    private readonly limitsOf: (candidate: Candidate) => UsageLimits,
    private readonly tell: (served: Candidate | undefined, corrections: UsageCorrection[]) => void,
  ) {}

  /** The vendor's usage as it is kept. */
  reported(usage: Usage, served: Candidate | undefined): Usage {
    const held = plausibleUsage(usage, served ? this.limitsOf(served) : {});
    if (held.corrections.length > 0 && !this.told) {
      this.told = true;
      this.tell(served, held.corrections);
    }
    return held.usage;
  }

  /** The gateway's estimate (in part or whole) as it is kept. */
  estimated(usage: Usage, served: Candidate | undefined): Usage {
    return plausibleUsage(usage, served ? this.limitsOf(served) : {}, true).usage;
  }
}
