import { randomBytes } from "node:crypto";

/**
 * An id for a tool call its vendor gave none: unique in the conversation, not
 * only in the answer (clients key tool results by id, and Anthropic refuses a
 * conversation where two tool_use blocks share one, "`tool_use` ids must be
 * unique"). The answer's id, after the call's index and kept to letters and
 * digits, never makes Gemini's signature mark (thought-signature.ts) and fits
 * every vendor's rules; an answer without one gets random letters instead.
 */
export function madeUpCallId(answerId: string, index: number): string {
  const answer = answerId.replace(/[^A-Za-z0-9]/g, "").slice(0, 24) || randomBytes(8).toString("hex");
  return `call_${index}_${answer}`;
}
