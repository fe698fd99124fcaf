/**
 * What a name cannot show of itself: control characters, Unicode's format and
 * default-ignorable characters (zero-width spaces, bidi overrides, Hangul
 * fillers), line and paragraph separators, and every space but the ASCII one
 * (U+00A0, U+3000, U+2000–U+200A…). The gateway refuses them in names now
 * (src/common/control-characters.ts, src/common/lookalike-spaces.ts); a key,
 * team or model stored before may still hold them. Written here again, as the
 * console is built from web/ and gen/ alone (a test checks both agree).
 */
export const HIDDEN_CHARACTER = /^(?:[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]|(?! )\p{Zs})$/u;

/** A run of a name's text, or one character it cannot show, by its code point ("U+00A0"). */
export type NamePart = { text: string } | { codePoint: string };

/**
 * A name as parts an operator can read: each hidden character (HIDDEN_CHARACTER), and each space at either end
 * ("gpt-4o " against "gpt-4o"), a part of its own, so two names that look alike are told apart.
 */
export function visibleParts(name: string): NamePart[] {
  const chars = [...name];
  const leading = name.length - name.replace(/^ +/, "").length;
  const trailing = name.length - name.replace(/ +$/, "").length;
  const parts: NamePart[] = [];
  chars.forEach((char, i) => {
    const atEdge = char === " " && (i < leading || i >= chars.length - trailing);
    if (atEdge || HIDDEN_CHARACTER.test(char)) parts.push({ codePoint: `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` });
    else {
      const last = parts[parts.length - 1];
      if (last && "text" in last) last.text += char;
      else parts.push({ text: char });
    }
  });
  return parts;
}

/** visibleParts as one line of text, each hidden character as ⟨U+00A0⟩: for a title, an option or a label, which hold no markup. */
export function visibleText(name: string): string {
  return visibleParts(name)
    .map((part) => ("text" in part ? part.text : `⟨${part.codePoint}⟩`))
    .join("");
}
