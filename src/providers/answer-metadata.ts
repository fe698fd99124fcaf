import type { ErrorContext } from "./codec.js";
import type { VendorIdentity } from "./provider.js";
import { redactAnswerText } from "./redact.js";

/** The longest id, model name, fingerprint or tier of a vendor's answer the gateway passes on (real ones are a few dozen characters). */
export const MAX_ANSWER_METADATA_CHARS = 256;

/** What an answer, a stream's end or its first delta says of itself. */
type Said = { id?: string } & VendorIdentity;

const FIELDS = ["id", "vendorModel", "systemFingerprint", "serviceTier"] as const;

/**
 * `said` with what the vendor says of its answer (its id; its model's name,
 * backend fingerprint and tier) made fit to pass on: each cut to
 * MAX_ANSWER_METADATA_CHARS and its secrets redacted (redactAnswerText), as
 * a vendor's error text is. They reach the caller's answer, the call's span
 * (`gen_ai.response.id`) and the response cache, and a hostile or broken
 * vendor could put anything there: megabytes, or a key. The same object when
 * nothing changed (most deltas say nothing of themselves).
 */
export function withFitMetadata<T extends Said>(said: T, ctx: ErrorContext): T {
  let fit: T | undefined;
  for (const field of FIELDS) {
    const text = said[field];
    if (!text) continue;
    const safe = redactAnswerText(text, MAX_ANSWER_METADATA_CHARS, ctx.credential, ctx.alsoSecret);
    if (safe !== text) (fit ??= { ...said })[field] = safe;
  }
  return fit ?? said;
}
