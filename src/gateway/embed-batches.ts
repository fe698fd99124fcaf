import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { EmbedParams, EmbedResult, ProviderAdapter, UpstreamCall } from "../providers/provider.js";

/** Batches of one call in flight at a time: enough to hide latency, few enough not to trip the vendor's rate limits. */
const BATCHES_IN_FLIGHT = 4;

/**
 * Embeds more texts than the vendor takes in one request (DashScope 10,
 * Qianfan 16, Gemini 100, …) as several requests within one attempt: the
 * same credential and model for every batch, so all vectors come from one
 * embedding space. A failed batch fails the attempt (the others are
 * cancelled), and the dispatcher retries or fails over the whole call.
 */
export async function embedInBatches(adapter: ProviderAdapter, call: UpstreamCall<EmbedParams>, batchSize: number): Promise<EmbedResult> {
  const inputs = call.params.inputs;
  if (inputs.length <= batchSize) return adapter.embed(call);
  const batches: string[][] = [];
  for (let start = 0; start < inputs.length; start += batchSize) batches.push(inputs.slice(start, start + batchSize));

  const stop = new AbortController();
  const signal = AbortSignal.any([call.signal, stop.signal]);
  const results: EmbedResult[] = new Array(batches.length);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const index = next++;
      results[index] = await adapter.embed({ ...call, signal, params: { ...call.params, inputs: batches[index]! } });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(BATCHES_IN_FLIGHT, batches.length) }, worker));
  } catch (err) {
    stop.abort(err);
    throw err;
  }
  return { vectors: results.flatMap((result) => result.vectors), usage: sumUsage(results.map((result) => result.usage)) };
}

/** The batches' usage added up; unknown if any batch reported none (the gateway then estimates). */
function sumUsage(usages: (Usage | undefined)[]): Usage | undefined {
  if (usages.some((usage) => usage === undefined)) return undefined;
  const total = create(UsageSchema);
  for (const usage of usages as Usage[]) {
    total.promptTokens += usage.promptTokens;
    total.totalTokens += usage.totalTokens;
  }
  return total;
}
