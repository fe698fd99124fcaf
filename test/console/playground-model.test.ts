import { describe, expect, it } from "vitest";
import { playgroundModel } from "../../web/src/playground-model.js";

const listed = (...ids: string[]) => ids.map((id) => ({ id }));

describe("the playground's model", () => {
  it("is the first model the key lists until one is picked: no name is guessed", () => {
    expect(playgroundModel("", listed("gpt-4o-mini", "gpt-4o"))).toBe("gpt-4o-mini");
  });

  it("is the one picked while the key lists it", () => {
    expect(playgroundModel("gpt-4o", listed("gpt-4o-mini", "gpt-4o"))).toBe("gpt-4o");
  });

  it("falls back to the key's first model when the key in use does not list the one picked (another key)", () => {
    expect(playgroundModel("gpt-4o", listed("gpt-4o-mini"))).toBe("gpt-4o-mini");
  });

  it("is none while the list has not come, or when the key lists no model (Send stays disabled)", () => {
    expect(playgroundModel("gpt-4o", undefined)).toBe("");
    expect(playgroundModel("", undefined)).toBe("");
    expect(playgroundModel("gpt-4o", [])).toBe("");
  });
});
