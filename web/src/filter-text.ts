/** A text as a quoted value of an AIP-160 filter: `"` and `\` escaped, so a team named `a"b` is matched as it is. */
export function filterValue(text: string): string {
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}
