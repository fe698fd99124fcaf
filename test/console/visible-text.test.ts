import { describe, expect, it } from "vitest";
import { hasControlCharacter } from "../../src/common/control-characters.js";
import { lookalikeSpaceProblem } from "../../src/common/lookalike-spaces.js";
import { HIDDEN_CHARACTER, visibleParts, visibleText } from "../../web/src/visible-text.js";

// Issue 10: keys, teams and models stored before the gateway refused
// look-alike spaces and invisible characters showed in the console as
// written, so "gpt-4o" and "gpt-4o\u00a0" read the same. The console writes
// each such character out as ⟨U+00A0⟩.
describe("a name as the console shows it", () => {
  it("writes out each character a name cannot show, and each space at either end", () => {
    expect(visibleParts("gpt-4o\u00a0")).toEqual([{ text: "gpt-4o" }, { codePoint: "U+00A0" }]);
    expect(visibleText("pay\u3000ments")).toBe("pay⟨U+3000⟩ments");
    expect(visibleText("user A\u200b\u3164")).toBe("user A⟨U+200B⟩⟨U+3164⟩");
    expect(visibleText("a\u0007\u{e0041}")).toBe("a⟨U+0007⟩⟨U+E0041⟩");
    expect(visibleText("  ops team ")).toBe("⟨U+0020⟩⟨U+0020⟩ops team⟨U+0020⟩");
    expect(visibleText(" ")).toBe("⟨U+0020⟩");
  });

  it("shows every other name as written", () => {
    for (const name of ["gpt-4o-mini", "Payments team", "Zoë", "東京チーム", "한글 팀", "ops 🔑", "R&D \"lab\" \\ x", ""]) {
      expect(visibleText(name), name).toBe(name);
    }
    expect(visibleParts("ops 🔑")).toEqual([{ text: "ops 🔑" }]);
  });

  it("writes out exactly the characters the gateway refuses in a name", () => {
    const differ: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      const refused = hasControlCharacter(`a${char}b`) || lookalikeSpaceProblem(`a${char}b`) !== undefined;
      if (refused !== HIDDEN_CHARACTER.test(char)) differ.push(code.toString(16));
    }
    expect(differ).toEqual([]);
  });
});
