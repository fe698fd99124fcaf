// Stop sequences Claude refuses: an empty one ("stop_sequences: each stop
// sequence must be non-empty", MegaGrindStone/mcp-web-ui#5) and one of
// whitespace only ("stop_sequences: each stop sequence must contain
// non-whitespace", BerriAI/litellm#3286), such as OpenAI's common `stop:
// ["\n"]`. Dropping one would let the answer run past where the caller asked
// it to stop, so a Claude candidate is refused, as one given more stop
// sequences than it takes is (request-fitting.ts): another candidate may
// serve, and with none the caller hears InvalidArgument naming its field.
import type { ChatParams } from "../provider.js";

/** Why `model`, served in `dialect`, cannot take the request's stop sequences; undefined when it can. */
export function blankStopSequenceRefusal(params: Pick<ChatParams, "stop" | "fieldNames">, dialect: string | undefined, model: string): { field: string; reason: string } | undefined {
  if (dialect !== "anthropic") return undefined;
  const blank = params.stop.findIndex((sequence) => sequence.trim() === "");
  if (blank === -1) return undefined;
  const which = params.stop[blank] === "" ? "is empty" : `is only whitespace (${JSON.stringify(params.stop[blank])})`;
  return { field: params.fieldNames?.stop ?? "stop", reason: `stop sequence ${blank} ${which}: ${model} (Anthropic Messages) takes only stop sequences with a character other than whitespace; leave it out, or call a model that takes it` };
}
