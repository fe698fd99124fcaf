import { createHash } from "node:crypto";

export interface ToolCallIdRules {
  maxLength?: number;
  /** Characters the vendor accepts in an id. */
  pattern?: RegExp;
}

/**
 * Each vendor has its own rules for tool call ids, and a conversation can move
 * between vendors (a fallback, or a client switching models), carrying ids
 * another vendor made: Gemini's carry a thought signature and run to hundreds
 * of characters, Kimi's look like `functions.get_weather:0`. An id that breaks
 * the target's rules becomes a digest of itself, so the assistant's call and
 * the tool's answer still match; ids that fit pass unchanged.
 */
export function toolCallIdFitting(rules: ToolCallIdRules): (id: string) => string {
  const length = Math.min(rules.maxLength ?? 40, 40);
  return (id) => {
    const fits = (rules.maxLength === undefined || id.length <= rules.maxLength) && (rules.pattern === undefined || rules.pattern.test(id));
    return fits ? id : `call_${createHash("sha256").update(id).digest("base64url").slice(0, length - 5)}`;
  };
}
