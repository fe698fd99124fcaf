// A vendor's token counts, held to what the call could have used before
// anything trusts them: the answer, the response cache, the usage ledger, the
// budget and the token limit all get the counts kept here. The codecs already
// refuse counts that are no token counts at all (vendor-usage.ts); this is
// about counts that are well formed and still cannot be true of this call.
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

/** One count that was not kept as told. */
export interface UsageCorrection {
  field: UsageField;
  reported: number;
  kept: number;
}

/** A count as a whole number from 0 to `most`: a fraction rounds up (as the gateway's estimates do), anything else not a count is 0. */
function whole(count: number, most = MAX_TOKEN_COUNT): number {
  if (Number.isNaN(count) || count <= 0) return 0;
  return Math.min(Math.ceil(count), most, MAX_TOKEN_COUNT);
}

/**
 * `usage` with every count a whole number from 0 to what the call could have
 * used: the prompt at most the context window, the completion at most the
 * output bound; of those, the cached and written prompt tokens at most the
 * prompt, the reasoning at most the completion. The total is kept unless a
 * count it adds up was cut (then it is their sum). `corrections`: each count
 * not kept as told.
 */
export function plausibleUsage(usage: Usage, limits: UsageLimits): { usage: Usage; corrections: UsageCorrection[] } {
  const corrections: UsageCorrection[] = [];
  const keep = (field: UsageField, reported: number, most?: number): number => {
    const kept = whole(reported, most);
    if (kept !== reported) corrections.push({ field, reported, kept });
    return kept;
  };
  const promptTokens = keep("prompt_tokens", usage.promptTokens, limits.promptTokens);
  const completionTokens = keep("completion_tokens", usage.completionTokens, limits.completionTokens);
  const cachedTokens = keep("cached_tokens", usage.cachedTokens, promptTokens);
  const cacheWriteTokens = keep("cache_write_tokens", usage.cacheWriteTokens, promptTokens);
  const cacheWrite1hTokens = keep("cache_write_1h_tokens", usage.cacheWrite1hTokens, cacheWriteTokens);
  const reasoningTokens = keep("reasoning_tokens", usage.reasoningTokens, completionTokens);
  if (corrections.length === 0) return { usage, corrections };
  const cut = promptTokens !== usage.promptTokens || completionTokens !== usage.completionTokens;
  const totalTokens = cut ? promptTokens + completionTokens : whole(usage.totalTokens);
  const kept = create(UsageSchema, { ...usage, promptTokens, completionTokens, totalTokens, cachedTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens });
  return { usage: kept, corrections };
}

/**
 * One call's usage, held to its limits (`limitsOf` the candidate that served)
 * wherever it comes from. A vendor's report that had to be corrected is told
 * (`tell`) once for the call: a stream may repeat a running usage in every
 * event. The gateway's own estimates are held to the same limits silently:
 * an estimate past a bound is the estimate's error, not the vendor's.
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
    return plausibleUsage(usage, served ? this.limitsOf(served) : {}).usage;
  }
}
