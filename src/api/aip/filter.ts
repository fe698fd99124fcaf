import type { FieldViolations } from "./field-violations.js";

/** One `field = value` comparison of a filter; the value without its quotes. */
export interface FilterTerm<Field extends string = string> {
  field: Field;
  value: string;
}

/**
 * Reads the small subset of AIP-160 the admin lists take: `field = value`
 * comparisons joined by AND, each value quoted ("payments") or bare (true,
 * ACTIVE), each field one of `fields`. A clause it cannot read adds a
 * `filter` violation that tells the caller what to write instead (`usage`).
 */
export function parseFilter<Field extends string>(filter: string, fields: readonly Field[], usage: string, violations: FieldViolations): FilterTerm<Field>[] {
  if (!filter.trim()) return [];
  const clause = new RegExp(`^\\s*(${fields.join("|")})\\s*=\\s*(?:"([^"]*)"|(\\S+))\\s*$`);
  const terms: FilterTerm<Field>[] = [];
  for (const text of filter.split(/\s+AND\s+/)) {
    const match = clause.exec(text);
    if (match) terms.push({ field: match[1] as Field, value: match[2] ?? match[3]! });
    else violations.add("filter", `cannot read "${text.trim()}": use ${usage}, joined by AND`);
  }
  return terms;
}
