// An admin key may give a key only globs its own scope covers: `globCovers`
// must never say a glob is covered when some name it matches is not (sound),
// and must find the everyday cases.
import { describe, expect, it } from "vitest";
import { compileGlob, globCovers } from "../../src/common/glob.js";

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
