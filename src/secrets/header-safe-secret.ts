/**
 * Whether a vendor secret can be sent as it is: it goes in an HTTP header
 * (`Authorization: Bearer …`, `x-api-key`), where a control character, a
 * line break or a character beyond Latin-1 cannot go (undici refuses the
 * request, and every call would fail as "could not be reached"), and where
 * spaces at either end are dropped (the vendor would see another key).
 * Undefined when it can; else what is wrong with it, in words that never
 * show the value.
 */
export function headerProblem(value: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(value)) return "holds a control character (a line break, a tab, …)";
  if (/[^\u0000-\u00ff]/.test(value)) return "holds a character beyond Latin-1";
  if (/^ | $/.test(value)) return "begins or ends with a space";
  return undefined;
}

/**
 * The value with the one line break it ends with dropped ("\n" or "\r\n":
 * what `kubectl create secret --from-file` and `echo` leave on a key), and
 * whether there was one. Anything else stays, for `headerProblem` to judge.
 */
export function withoutFinalNewline(value: string): { value: string; stripped: boolean } {
  const match = /\r?\n$/.exec(value);
  return match ? { value: value.slice(0, match.index), stripped: true } : { value, stripped: false };
}

/**
 * Whether the value is wrapped in a matching pair of quotes ("sk-…" or 'sk-…'), which no vendor key is: a
 * loader of an env file kept them (`docker run --env-file` and some .env loaders take quotes literally).
 * Sent as they are, the vendor answers 401 and the key is disabled; stripping them silently would hide the
 * mistake from whoever reads the same file another way, so the value is refused, never shown.
 */
export function wrappedInQuotes(value: string): boolean {
  return /^(["'])[\s\S]*\1$/.test(value);
}

/** Why a quoted value is refused, for every place that stores or reads one (never showing it). */
export const QUOTED_VALUE = `is wrapped in quotes ("…" or '…'), which no vendor key is: a loader of an env file kept them (as docker run --env-file does); store the key without them`;
