// JoinedPieces: text that comes in pieces, held in few strings, joined as the pieces would be.
import { describe, expect, it } from "vitest";
import { JoinedPieces } from "../../src/providers/transport/joined-pieces.js";

describe("JoinedPieces", () => {
  it.each([0, 1, 2, 15, 16, 17, 255, 256, 257, 5_000])("joins %i pieces as Array.join does, and counts the characters joined", (count) => {
    for (const separator of ["\n", ""]) {
      const pieces = new JoinedPieces(separator);
      // Empty pieces among them: a `data:` line with nothing after is a piece all the same.
      const sent = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? "" : `p${i}`));
      for (const piece of sent) pieces.add(piece);
      expect(pieces.empty).toBe(count === 0);
      expect(pieces.chars).toBe(sent.join(separator).length);
      expect(pieces.held).toBeLessThanOrEqual(15 * 4);
      expect(pieces.take()).toBe(sent.join(separator));
      // Nothing is held after a take: the next text starts afresh.
      expect([pieces.empty, pieces.chars, pieces.held, pieces.take()]).toEqual([true, 0, 0, ""]);
    }
  });
});
