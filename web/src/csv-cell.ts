/**
 * A text cell, quoted when it must be, and never read as a formula by a spreadsheet (OWASP's list of leading
 * characters: = + - @ tab and carriage return). Quoted too when it holds a `;` or a tab: spreadsheets of many
 * locales split a CSV there, and a cell `gpt-4o;=1+1` would end in a formula cell of its own.
 */
export function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",;\t\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
