import { excerpt } from "../../common/excerpt.js";
import type { FieldViolations } from "./field-violations.js";

/** One `field = value` comparison of a filter; the value without its quotes. */
export interface FilterTerm<Field extends string = string> {
  field: Field;
  value: string;
}

/**
 * The most clauses a filter may join: each field compared once is a few, and
 * the bound keeps a filter of 100,000 clauses from costing that many checks
 * and violations.
 */
export const MAX_FILTER_CLAUSES = 10;

/**
 * Where clauses part. `(?<!\s)` lets a match start only where a run of white
 * space starts, so a long run is crossed once rather than once per character
 * (`\s+AND\s+` alone took time in the square of the run's length).
 */
const AND = /(?<!\s)\s+AND\s+/;

/**
 * Reads the small subset of AIP-160 the admin lists take: `field = value`
 * comparisons joined by AND (at most MAX_FILTER_CLAUSES), each value quoted
 * ("payments") or bare (true, ACTIVE), each field one of `fields`. A clause
 * it cannot read adds a `filter` violation that tells the caller what to
 * write instead (`usage`).
 */
export function parseFilter<Field extends string>(filter: string, fields: readonly Field[], usage: string, violations: FieldViolations): FilterTerm<Field>[] {
  if (!filter.trim()) return [];
  const clauses = filter.split(AND, MAX_FILTER_CLAUSES + 1);
  if (clauses.length > MAX_FILTER_CLAUSES) {
    violations.add("filter", `at most ${MAX_FILTER_CLAUSES} clauses joined by AND`);
    return [];
  }
  const clause = new RegExp(`^\\s*(${fields.join("|")})\\s*=\\s*(?:"([^"]*)"|(\\S+))\\s*$`);
  const terms: FilterTerm<Field>[] = [];
  for (const text of clauses) {
    const match = clause.exec(text);
    if (match) terms.push({ field: match[1] as Field, value: match[2] ?? match[3]! });
    else violations.add("filter", `cannot read "${excerpt(text.trim())}": use ${usage}, joined by AND`);
  }
  return terms;
}
