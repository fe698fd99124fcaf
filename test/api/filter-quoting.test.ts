import type { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { parseFilter } from "../../src/api/aip/filter.js";

// Quoted filter values as AIP-160 writes them: `\"` and `\\` escape a quote
// and a backslash, so every team name can be matched (a team `a"b` could not
// be before: its filter was read as the bare word `"a\"b"`, quotes included,
// and matched nothing without a word of why).
const FIELDS = ["team", "state"] as const;

function read(filter: string, anyField = false) {
  const v = new FieldViolations();
  const terms = parseFilter(filter, FIELDS, 'team = "…"', v, { anyField });
  let error: string | undefined;
  try {
    v.throwIfAny();
  } catch (err) {
    error = (err as ConnectError).rawMessage;
  }
  return { terms, error };
}

describe("filters: quoted values", () => {
  it("reads \\\" as a quote and \\\\ as a backslash", () => {
    expect(read(String.raw`team = "a\"b"`)).toEqual({ terms: [{ field: "team", value: 'a"b' }], error: undefined });
    expect(read(String.raw`team = "back\\slash\\"`)).toEqual({ terms: [{ field: "team", value: "back\\slash\\" }], error: undefined });
    expect(read(String.raw`team = "=1+1\"><img src=x>" AND state = ACTIVE`).terms).toEqual([
      { field: "team", value: '=1+1"><img src=x>' },
      { field: "state", value: "ACTIVE" },
    ]);
  });

  it("does not part a quoted value at an AND inside it", () => {
    expect(read('team = "R AND D" AND state = ACTIVE').terms).toEqual([
      { field: "team", value: "R AND D" },
      { field: "state", value: "ACTIVE" },
    ]);
  });

  it("refuses, in words, a stray quote, an unclosed quote and any other escape", () => {
    for (const filter of [String.raw`team = a"b`, 'team = "open', String.raw`team = "a\nb"`, String.raw`team = a\b`]) {
      expect(read(filter).error, filter).toMatch(/^filter: cannot read ".*": use team = "…", joined by AND$/);
    }
  });

  it("reads a bare quoted value (AIP-160's global restriction) only where the reader takes one", () => {
    expect(read('"needle" AND state = ACTIVE', true).terms).toEqual([{ value: "needle" }, { field: "state", value: "ACTIVE" }]);
    expect(read(String.raw`"say \"hi\""`, true).terms).toEqual([{ value: 'say "hi"' }]);
    expect(read('"needle"').error).toBe('filter: cannot read ""needle"": use team = "…", joined by AND');
  });

  it("reads a long quoted value in one pass", () => {
    const long = `${"\\\\".repeat(200_000)}x`;
    expect(read(`team = "${long}"`).terms).toEqual([{ field: "team", value: `${"\\".repeat(200_000)}x` }]);
    expect(read(`team = "${"a".repeat(500_000)}`).error?.length).toBeLessThan(400);
  });
});
