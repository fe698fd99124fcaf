import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { embedInputCount, embedInputSlice } from "../providers/embed-inputs.js";
import type { EmbedParams, EmbedResult, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import { MAX_TOKEN_COUNT, type UsageFault } from "../providers/vendor-usage.js";

/** Batches of one call in flight at a time: enough to hide latency, few enough not to trip the vendor's rate limits. */
const BATCHES_IN_FLIGHT = 4;

/**
 * Embeds more texts than the vendor takes in one request (DashScope 10,
 * Qianfan 16, Gemini 100, …) as several requests within one attempt: the
 * same credential and model for every batch, so all vectors come from one
 * embedding space. A failed batch fails the attempt (the others are
 * cancelled), and the dispatcher retries or fails over the whole call.
 * The input tokens of the batches a failed attempt had finished go to
 * `billedBeforeFailure`: the vendor billed them, whatever became of the rest.
 */
export async function embedInBatches(
  adapter: ProviderAdapter,
  call: UpstreamCall<EmbedParams>,
  batchSize: number,
  billedBeforeFailure: (inputTokens: number) => void,
): Promise<EmbedResult> {
  const count = embedInputCount(call.params);
  if (count <= batchSize) return adapter.embed(call);
  const batches: EmbedParams[] = [];
  for (let start = 0; start < count; start += batchSize) batches.push(embedInputSlice(call.params, start, start + batchSize));

  const stop = new AbortController();
  const signal = AbortSignal.any([call.signal, stop.signal]);
  const results: EmbedResult[] = new Array(batches.length);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const index = next++;
      results[index] = await adapter.embed({ ...call, signal, params: batches[index]! });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, batches.length) }, worker));
  } catch (err) {
    stop.abort(err);
    const finished = sumUsage(results.filter((result) => result !== undefined).map((result) => result.usage)).usage?.promptTokens ?? 0;
    if (finished > 0) billedBeforeFailure(finished);
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
