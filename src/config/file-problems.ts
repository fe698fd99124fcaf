// What is wrong with a configuration file, each problem with where it stands
// in the file: YAML's own syntax errors, and the schema's findings (every one,
// not the first only), their fields written as the docs write them.
import { isMap, isPair, isScalar, type Document, type LineCounter } from "yaml";
import type { z } from "zod";
import type { ConfigProblem } from "./config-error.js";

/** At most this many problems are said: past it, a file is more likely the wrong file than a file with many mistakes. */
const MOST_PROBLEMS = 20;

/** A field's path as the docs write it: `routes[0].fallbacks[1]`, `providers.openai.keys[0]`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, step) => (typeof step === "number" ? `${name}[${step}]` : name ? `${name}.${String(step)}` : String(step)), "");
}

/** The document's syntax errors, each at its line and column (the message without YAML's code frame). */
export function yamlProblems(doc: Document): ConfigProblem[] {
  return doc.errors.slice(0, MOST_PROBLEMS).map((error) => {
    const [start] = error.linePos ?? [];
    const said = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { field: start ? `line ${start.line}, column ${start.col}` : "", problem: `not valid YAML: ${said}` };
  });
}

/** The schema's findings, each named by its field and, where the file has it, its line (after the problem: `field: problem` reads the same as the environment's). */
export function schemaProblems(error: z.ZodError, doc: Document, lines: LineCounter): ConfigProblem[] {
  const problems = error.issues.flatMap((issue): ConfigProblem[] => {
    const path = issue.path as PropertyKey[];
    // Each unknown field on its own line, where it stands: a misspelling is found by its line.
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ field: fieldName([...path, key]), problem: `unknown field${at(doc, lines, path, key)}` }));
    return [{ field: fieldName(path), problem: `${issue.message}${at(doc, lines, path)}` }];
  });
  return problems.slice(0, MOST_PROBLEMS);
}

/** " (line L)" where the value at `path` (or `key` of the map there) stands in the file; "" where it does not (a missing field). */
function at(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string): string {
  const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
  let offset: number | undefined;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
    offset = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
  } else if (node && typeof node === "object" && "range" in node) {
    offset = (node as { range?: [number, number, number] | null }).range?.[0];
  }
  return offset === undefined ? "" : ` (line ${lines.linePos(offset).line})`;
}
