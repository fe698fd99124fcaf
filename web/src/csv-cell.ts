/** A text cell, quoted when it must be, and never read as a formula by a spreadsheet (OWASP's list of leading characters: = + - @ tab and carriage return). */
export function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
