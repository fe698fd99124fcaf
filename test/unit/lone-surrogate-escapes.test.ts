import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { mayHoldLoneSurrogates } from "../../src/common/lone-surrogates.js";

// The REST surfaces look for a `\uD800`-`\uDFFF` escape in every JSON body
// before they walk the parsed value for a lone surrogate
// (src/api/envelope/json-body.ts): the search must say what the regular
// expression says, without reading a long body a character at a time.

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

describe("mayHoldLoneSurrogates", () => {
  it("says what the regular expression says over the whole text, escapes anywhere", () => {
    const piece = fc.constantFrom("word ", "\\u", "\\ud800", "\\uD9ff", "\\udc00", "\\uDBFF", "\\u00e9", "\\\\u", "\\\\ud800", "\\ue000", "\\uda", "d8", "\\", "u");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = JSON.stringify({ content: pieces.join("") }).replaceAll("\\\\", "\\");
        expect(mayHoldLoneSurrogates(text)).toBe(SURROGATE_ESCAPE.test(text));
      }),
      { numRuns: 3_000 },
    );
    // Called again and again: the search starts afresh each time.
    for (const text of ['"\\ud800"', '"a"', '"\\u0041 \\udfff"', '"\\u0041"', '"\\ud800"']) expect(mayHoldLoneSurrogates(text)).toBe(SURROGATE_ESCAPE.test(text));
  });

  it("runs no regular expression through a long body without a \\u escape", () => {
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "word ".repeat(12_000) }] });
    const test = vi.spyOn(RegExp.prototype, "test");
    const exec = vi.spyOn(RegExp.prototype, "exec");
    let found: boolean;
    let regexRuns: number;
    try {
      found = mayHoldLoneSurrogates(body);
      regexRuns = test.mock.calls.length + exec.mock.calls.length;
    } finally {
      test.mockRestore();
      exec.mockRestore();
    }
    expect(found).toBe(false);
    expect(regexRuns).toBe(0);
  });
});
