import { excerpt } from "../../common/excerpt.js";
import type { FieldViolations } from "./field-violations.js";

/**
 * One `field = value` comparison of a filter, the value without its quotes
 * and escapes; or, where the reader takes one, a bare quoted value (AIP-160's
 * global restriction), which has no field.
 */
export interface FilterTerm<Field extends string = string> {
  field?: Field;
  value: string;
}

/**
 * The most clauses a filter may join: each field compared once is a few, and
 * the bound keeps a filter of 100,000 clauses from costing that many checks
 * and violations.
 */
export const MAX_FILTER_CLAUSES = 10;

/** A quoted value: `\"` is a quote and `\\` a backslash in it, and no other backslash may stand. */
const QUOTED = String.raw`"((?:[^"\\]|\\["\\])*)"`;

/**
 * Reads the small subset of AIP-160 the admin lists take: `field = value`
 * comparisons joined by AND (at most MAX_FILTER_CLAUSES), each value quoted
 * ("payments", "say \"hi\"") or bare (true, ACTIVE), each field one of
 * `fields` and compared at most once; with `anyField`, also bare quoted
 * values, which have no field. A clause it cannot read adds a `filter`
 * violation that tells the caller what to write instead (`usage`).
 */
export function parseFilter<Field extends string>(
  filter: string,
  fields: readonly Field[],
  usage: string,
  violations: FieldViolations,
  options: { anyField?: boolean } = {},
): FilterTerm<Field>[] {
  if (!filter.trim()) return [];
  const clauses = splitClauses(filter, MAX_FILTER_CLAUSES + 1);
  if (clauses.length > MAX_FILTER_CLAUSES) {
    violations.add("filter", `at most ${MAX_FILTER_CLAUSES} clauses joined by AND`);
    return [];
  }
  const comparison = new RegExp(String.raw`^\s*(${fields.join("|")})\s*=\s*(?:${QUOTED}|([^\s"\\]+))\s*$`);
  const bare = new RegExp(String.raw`^\s*${QUOTED}\s*$`);
  const terms: FilterTerm<Field>[] = [];
  const compared = new Set<Field>();
  for (const text of clauses) {
    const match = comparison.exec(text);
    const global = !match && options.anyField ? bare.exec(text) : null;
    if (match) {
      const field = match[1] as Field;
      // A reader keeps one value per field: `team = "a" AND team = "b"` would list team b, though no key is in both.
      if (compared.has(field)) violations.add("filter", `at most one ${field} comparison`);
      compared.add(field);
      terms.push({ field, value: match[2] === undefined ? match[3]! : unescape(match[2]) });
    } else if (global) terms.push({ value: unescape(global[1]!) });
    else violations.add("filter", `cannot read "${excerpt(text.trim())}": use ${usage}, joined by AND`);
  }
  return terms;
}

function unescape(quoted: string): string {
  return quoted.replace(/\\(["\\])/g, "$1");
}

const SPACE = /\s/;

/**
 * The filter's clauses, parted at each ` AND ` outside quotes (a team may be
 * "R AND D"), at most `max` of them: one pass over the text, so a long run of
 * white space or a long quoted value costs its length once. An unclosed quote
 * runs to the end, and its clause is then one the caller cannot have meant.
 */
function splitClauses(filter: string, max: number): string[] {
  const clauses: string[] = [];
  let start = 0;
  let i = 0;
  while (i < filter.length && clauses.length < max) {
    if (filter[i] === '"') {
      for (i++; i < filter.length && filter[i] !== '"'; i += filter[i] === "\\" ? 2 : 1);
      i++;
    } else if (SPACE.test(filter[i]!)) {
      let word = i;
      while (word < filter.length && SPACE.test(filter[word]!)) word++;
      if (filter.startsWith("AND", word) && SPACE.test(filter[word + 3] ?? "")) {
        clauses.push(filter.slice(start, i));
        for (word += 3; word < filter.length && SPACE.test(filter[word]!); word++);
        start = word;
      }
      i = word;
    } else i++;
  }
  if (clauses.length < max) clauses.push(filter.slice(start));
  return clauses;
}
