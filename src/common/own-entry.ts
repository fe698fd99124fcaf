/**
 * `table[name]` for a name a caller or a vendor chose: only the table's own
 * entries, so "constructor" or "__proto__" finds nothing rather than a
 * built-in of Object.prototype.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
