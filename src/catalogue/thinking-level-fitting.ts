// A caller's own Gemini thinking level (vendor_options'
// generationConfig.thinkingConfig.thinkingLevel, which the Gemini codec sends
// as it is) checked against the levels the model takes, before any vendor is
// called: Gemini answers a level a model does not take with a 400
// ("thinking_level ... is not supported by this model"), Gemini 3 Pro
// taking only "low" and "high".
import type { ChatParams } from "../providers/provider.js";
import { asObject } from "../providers/message-content.js";
import { excerpt } from "../common/excerpt.js";
import type { Reasoning } from "./schema.js";

/** Where Gemini reads a thinking level from, in either of the spellings its JSON API takes. */
const GENERATION_CONFIGS = ["generationConfig", "generation_config"];
const THINKING_CONFIGS = ["thinkingConfig", "thinking_config"];
const LEVEL_FIELDS = ["thinkingLevel", "thinking_level"];

/**
 * The caller's field and why, for a thinking level the model does not take
 * (InvalidArgument); undefined when there is none, or when the model is not
 * one steered by level over Gemini's own API. Levels are compared without
 * regard to case: Gemini's enum takes "LOW" as well as "low".
 */
export function thinkingLevelRefusal(params: ChatParams, reasoning: Reasoning | undefined, dialect: string | undefined, model: string): { field: string; reason: string } | undefined {
  const options = params.vendorOptions;
  if (dialect !== "gemini" || reasoning?.control !== "effort" || !options) return undefined;
  const takes: readonly string[] = reasoning.levels ?? reasoning.efforts ?? [];
  // Named as the caller wrote it: under vendor_options on the typed API, as the body's own field on a REST surface.
  const at = params.vendorOptionsDialect === undefined ? "vendor_options." : "";
  for (const generation of GENERATION_CONFIGS) {
    for (const thinking of THINKING_CONFIGS) {
      const config = asObject(asObject(options[generation])[thinking]);
      for (const name of LEVEL_FIELDS) {
        const level = config[name];
        if (level === undefined || level === null) continue;
        if (typeof level === "string" && takes.includes(level.toLowerCase())) continue;
        const given = typeof level === "string" ? `"${excerpt(level)}"` : excerpt(JSON.stringify(level));
        const accepted = takes.map((l) => `"${l}"`).join(", ");
        return { field: `${at}${generation}.${thinking}.${name}`, reason: `${model} takes the thinking levels ${accepted}, not ${given}` };
      }
    }
  }
  return undefined;
}
