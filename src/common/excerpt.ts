/** How much of a caller's text an error message repeats: enough to recognise it. */
export const EXCERPT_CHARS = 200;

/**
 * A caller's text as an error message quotes it: whole when short, else its
 * first EXCERPT_CHARS characters and "…". Messages go into answers and log
 * lines, so the caller must not decide their size (a 7 MB model name made a
 * 7 MB answer and 14 MB of log per call).
 */
export function excerpt(text: string): string {
  if (text.length <= EXCERPT_CHARS) return text;
  // Not between the halves of a surrogate pair: a lone half is not text, and encoders replace it.
  const high = text.charCodeAt(EXCERPT_CHARS - 1);
  const end = high >= 0xd800 && high <= 0xdbff ? EXCERPT_CHARS - 1 : EXCERPT_CHARS;
  return `${text.slice(0, end)}…`;
}
