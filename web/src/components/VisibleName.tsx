import { visibleParts } from "../visible-text";

/** A key's, team's or model's name with each character it cannot show written as ⟨U+00A0⟩, muted: "gpt-4o" and "gpt-4o\u00a0" read apart. */
export function VisibleName({ name }: { name: string }) {
  return (
    <>
      {visibleParts(name).map((part, i) =>
        "text" in part ? (
          part.text
        ) : (
          <span key={i} className="muted hidden-char" title={`${part.codePoint}: a character that shows as nothing, or as a space`}>
            ⟨{part.codePoint}⟩
          </span>
        ),
      )}
    </>
  );
}
