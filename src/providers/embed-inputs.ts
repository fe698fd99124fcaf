// An Embed call's inputs are texts (`inputs`) or token ids (`token_inputs`),
// never both (validateEmbed): what counts, batches and sends them reads
// whichever the call holds through these, not `inputs` alone.
import type { EmbedParams } from "./provider.js";

type Inputs = Pick<EmbedParams, "inputs" | "tokenInputs">;

/** How many inputs the call holds, texts or token arrays. */
export function embedInputCount(params: Inputs): number {
  return params.tokenInputs.length > 0 ? params.tokenInputs.length : params.inputs.length;
}

/** The call's inputs from `start` up to `end`, as one batch of it. */
export function embedInputSlice<P extends Inputs>(params: P, start: number, end: number): P {
  return params.tokenInputs.length > 0 ? { ...params, tokenInputs: params.tokenInputs.slice(start, end) } : { ...params, inputs: params.inputs.slice(start, end) };
}
