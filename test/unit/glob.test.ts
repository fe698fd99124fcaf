// Model globs (key scopes, routes, cache rules, prices) are matched against
// names callers choose: the matcher must take time in proportion to the name,
// whatever the pattern, and must match exactly what the regexes it replaced
// matched, so that no key's scope widens or narrows.
import { describe, expect, it } from "vitest";
import { compileGlob, globCovers, isGlob } from "../../src/common/glob.js";

/** The matcher globs used to compile to: the oracle for equivalence (run only on short names). */
function regexGlob(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return (name) => regex.test(name);
}

/** Every string of up to `max` characters drawn from `alphabet`. */
function strings(alphabet: string[], max: number): string[] {
  const all = [""];
  let previous = [""];
  for (let length = 1; length <= max; length++) {
    previous = previous.flatMap((prefix) => alphabet.map((c) => prefix + c));
    all.push(...previous);
  }
  return all;
}

describe("compileGlob: pathological patterns and names", () => {
  // Each of these froze a backtracking regex for seconds to forever; here each is one pass.
  it.each<[string, string, boolean]>([
    ["gpt-*-*-mini", `gpt-${"-".repeat(100_000)}x`, false],
    ["gpt-*-*-mini", `gpt-${"-".repeat(100_000)}mini`, true],
    ["*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(60), false],
    ["*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(100_000), false],
    ["*a*a*a*a*a*a*a*a*a*a*b", `${"a".repeat(100_000)}b`, true],
    ["*?*?*?*?*?*?*?*?*?*?*x", "y".repeat(100_000), false],
    [`${"*a".repeat(50)}*b`, "a".repeat(100_000), false],
  ])("%s against %#: a long name is judged at once", (pattern, name, expected) => {
    expect(compileGlob(pattern)(name)).toBe(expected);
  });

  it("judges many long names against many-star patterns", () => {
    const patterns = ["*-*-*-*-*-*-*-*-x", "o*1*-*m*i*n*i*z", "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*z"];
    const names = ["-".repeat(50_000), `o1-${"mini".repeat(10_000)}`, "ab".repeat(25_000)];
    for (const pattern of patterns) for (const name of names) expect(compileGlob(pattern)(name)).toBe(false);
  });
});

describe("compileGlob: the same answers as the regexes it replaced", () => {
  it("on every short pattern and name over a small alphabet, line breaks included", () => {
    const names = strings(["a", "b", "\n"], 6);
    const mismatches: string[] = [];
    for (const pattern of strings(["a", "b", "*", "?", "\n"], 5)) {
      const glob = compileGlob(pattern);
      const oracle = regexGlob(pattern);
      for (const name of names) if (glob(name) !== oracle(name)) mismatches.push(JSON.stringify([pattern, name]));
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it.each<[string, string, boolean]>([
    ["gpt-*", "gpt-4o-mini", true],
    ["gpt-*", "gpt-", true],
    ["gpt-*", "xgpt-4o", false],
    ["o1*", "o1", true],
    ["qwen-?-max", "qwen-2-max", true],
    ["qwen-?-max", "qwen--max", false],
    ["qwen-?-max", "qwen-25-max", false],
    ["ft:gpt-4o-mini:acme:*", "ft:gpt-4o-mini:acme:x1", true],
    ["openai/*", "openai/gpt-4.1", true],
    // Characters a regex gives a meaning to are plain characters in a glob.
    ["gpt-4.1*", "gpt-4x1-mini", false],
    ["gpt-4.1*", "gpt-4.1-mini", true],
    ["(a|b)+*", "(a|b)+c", true],
    ["(a|b)+*", "a", false],
    ["[ab]?", "[ab]c", true],
    ["^x$*", "^x$", true],
    ["\\d*", "\\d1", true],
    ["{1}*", "{1}", true],
    // A wildcard never stood for a line break, nor `?` for more than one UTF-16 unit.
    ["gpt-*", "gpt-4o\nmini", false],
    ["gpt-?", "gpt-\n", false],
    ["gpt-?", "gpt-😀", false],
    ["gpt-??", "gpt-😀", true],
    // No glob character: the exact name only.
    ["gpt-4o", "gpt-4o", true],
    ["gpt-4o", "gpt-4o-mini", false],
    ["", "", true],
    ["*", "", true],
    ["?", "", false],
  ])("%s against %s", (pattern, name, expected) => {
    expect(compileGlob(pattern)(name)).toBe(expected);
    expect(regexGlob(pattern)(name)).toBe(expected);
  });

  it("isGlob tells a glob from a name", () => {
    expect(isGlob("gpt-*")).toBe(true);
    expect(isGlob("qwen-?-max")).toBe(true);
    expect(isGlob("gpt-4.1")).toBe(false);
  });
});

// An admin key may give a key only globs its own scope covers: `globCovers`
// must never say a glob is covered when some name it matches is not (sound),
// and must find the everyday cases.
describe("globCovers", () => {
  it.each<[string, string, boolean]>([
    ["gpt-4o*", "gpt-4o-mini", true],
    ["gpt-4o*", "gpt-4o-*", true],
    ["gpt-4o*", "gpt-4o?", true],
    ["*", "openai/*", true],
    ["openai/*", "openai/gpt-*", true],
    ["gpt-4o-mini", "gpt-4o-mini", true],
    ["gpt-?", "gpt-4", true],
    ["gpt-4o-mini", "gpt-4o*", false],
    ["gpt-4o-mini", "gpt-4o-min?", false],
    ["gpt-?", "gpt-*", false],
    ["gpt-?", "gpt-?", false], // sound, not complete: `?` is not taken as standing for `?`
    ["gpt-4o-mini*", "gpt-4o*", false],
    ["openai/*", "*", false],
    ["claude-*", "gpt-4o", false],
  ])("%s covers %s: %s", (outer, inner, covers) => {
    expect(globCovers(outer, inner)).toBe(covers);
  });

  it("never finds a glob covered when a name it matches is outside the covering glob", () => {
    const globs = strings(["a", "b", "*", "?"], 4);
    const names = strings(["a", "b", "c", "*"], 5);
    const matchers = new Map(globs.map((glob) => [glob, compileGlob(glob)]));
    let covered = 0;
    for (const outer of globs) {
      for (const inner of globs) {
        if (!globCovers(outer, inner)) continue;
        covered++;
        const escaping = names.find((name) => matchers.get(inner)!(name) && !matchers.get(outer)!(name));
        expect(escaping, `${outer} covers ${inner}, yet not "${escaping}"`).toBeUndefined();
      }
    }
    // Not vacuous: many pairs are found covered.
    expect(covered).toBeGreaterThan(1000);
  });
});
