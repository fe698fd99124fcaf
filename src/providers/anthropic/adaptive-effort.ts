// The effort that steers Claude's adaptive thinking, `output_config.effort`:
// "low", "medium", "high", "xhigh" or "max"
// (https://platform.claude.com/docs/en/build-with-claude/effort), read into
// the unified request so that every vendor is asked for it (a model that does
// not take it gets the nearest one it does, and the adjustments say so).
// Claude itself gets the caller's field as written (original-request.ts).
import { ReasoningEffort } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { ownEntry } from "../../common/own-entry.js";
import { strictReader as read } from "../openai/json-reader.js";
import { EFFORT_VALUES, type EffortName } from "../reasoning.js";

/** The efforts Claude's `output_config.effort` takes (not OpenAI's "minimal"). */
const CLAUDE_EFFORTS: readonly EffortName[] = ["low", "medium", "high", "xhigh", "max"];
const ACCEPTED = CLAUDE_EFFORTS.map((name) => `"${name}"`).join(", ");

/**
 * `output_config.effort`, for a call that thinks adaptively; unset when the
 * caller left it out (the model's default). Without thinking it steers only
 * the answer's length, which no other vendor has a field for, so it is read
 * only where thinking is on.
 */
export function readAdaptiveEffort(outputConfig: unknown): ReasoningEffort {
  const raw = read.object(outputConfig, "output_config").effort;
  if (raw === undefined || raw === null) return ReasoningEffort.UNSPECIFIED;
  const name = read.string(raw, "output_config.effort");
  const effort = CLAUDE_EFFORTS.includes(name as EffortName) ? ownEntry(EFFORT_VALUES, name) : undefined;
  return effort ?? read.reject("output_config.effort", `must be one of ${ACCEPTED}`);
}
