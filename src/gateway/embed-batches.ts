import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { embedInputCount, embedInputSlice } from "../providers/embed-inputs.js";
import type { EmbedParams, EmbedResult, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import { MAX_TOKEN_COUNT, type UsageFault } from "../providers/vendor-usage.js";
import { embedTokens } from "./usage-estimate.js";

/** Batches of one call in flight at a time: enough to hide latency, few enough not to trip the vendor's rate limits. */
const BATCHES_IN_FLIGHT = 4;

/**
 * Embeds more texts than the vendor takes in one request (DashScope 10,
 * Qianfan 16, Gemini 100, …) as several requests within one attempt: the
 * same credential and model for every batch, so all vectors come from one
 * embedding space. A failed batch fails the attempt (the others are
 * cancelled), and the dispatcher retries or fails over the whole call.
 * A failed or cut attempt tells `billed` what of its input the vendor can
 * bill: the input tokens of the batches that answered, and the estimate of
 * each batch whose request went out and was cut unanswered (the vendor had
 * it); not the batches never sent, nor one the vendor refused (error answers are not billed).
 */
export async function embedInBatches(
  adapter: ProviderAdapter,
  call: UpstreamCall<EmbedParams>,
  batchSize: number,
  billed: (inputTokens: number) => void,
): Promise<EmbedResult> {
  const count = embedInputCount(call.params);
  if (count <= batchSize) return adapter.embed(call);
  const batches: EmbedParams[] = [];
  for (let start = 0; start < count; start += batchSize) batches.push(embedInputSlice(call.params, start, start + batchSize));

  const stop = new AbortController();
  const signal = AbortSignal.any([call.signal, stop.signal]);
  const results: EmbedResult[] = new Array(batches.length);
  /** The batches whose request went out and that have not ended on their own (answered, or failed uncut). */
  const out = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const index = next++;
      const requestSent = (): void => {
        out.add(index);
        call.requestSent?.();
      };
      try {
        results[index] = await adapter.embed({ ...call, signal, params: batches[index]!, requestSent });
      } catch (err) {
        // Failed on its own, not cut (an error answer, which vendors do not bill; a lost connection): not charged, as an attempt of one request is not.
        if (!signal.aborted) out.delete(index);
        throw err;
      }
      out.delete(index);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, batches.length) }, worker));
  } catch (err) {
    stop.abort(err);
    // The batches still out are cut now, or were by the attempt's cut: the vendor had their requests, and bills them.
    const answered = results.reduce((sum, result, index) => sum + (result.usage?.promptTokens ?? embedTokens(batches[index]!).estimated), 0);
    billed([...out].reduce((sum, index) => sum + embedTokens(batches[index]!).estimated, answered));
    throw err;
  }
  const usage = sumUsage(results.map((result) => result.usage));
  // The first batch's fault stands for the call's (it is said once); counts that add up past the contract's int32 are one too.
  const usageFault = results.find((result) => result.usageFault)?.usageFault ?? usage.fault;
  return { vectors: results.flatMap((result) => result.vectors), usage: usage.usage, usageFault };
}

/** The batches' usage added up; unknown if any batch reported none, or if the sum is more than Usage carries (the gateway then estimates). */
function sumUsage(usages: (Usage | undefined)[]): { usage: Usage | undefined; fault?: UsageFault } {
  if (usages.some((usage) => usage === undefined)) return { usage: undefined };
  const total = create(UsageSchema);
  for (const usage of usages as Usage[]) {
    total.promptTokens += usage.promptTokens;
    total.totalTokens += usage.totalTokens;
  }
  if (total.promptTokens <= MAX_TOKEN_COUNT && total.totalTokens <= MAX_TOKEN_COUNT) return { usage: total };
  return { usage: undefined, fault: { fields: { "usage (the batches' counts added up)": `over ${MAX_TOKEN_COUNT}` }, discarded: true } };
}
