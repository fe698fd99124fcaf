// docs/models.md is written from the catalogue: it must say what the shipped vendor files say.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { renderModelsDoc } from "../../src/catalogue/models-doc.js";

describe("docs/models.md", () => {
  it("is up to date with the catalogue (regenerate: npx tsx scripts/models-doc.ts > docs/models.md)", () => {
    const onDisk = readFileSync(new URL("../../docs/models.md", import.meta.url), "utf8");
    expect(onDisk === renderModelsDoc(Catalogue.shipped()), "docs/models.md is stale: run npx tsx scripts/models-doc.ts > docs/models.md").toBe(true);
  });

  it("lists every shipped model with its source", () => {
    const doc = renderModelsDoc(Catalogue.shipped());
    const catalogue = Catalogue.shipped();
    for (const provider of catalogue.providers()) {
      for (const entry of catalogue.models(provider)) expect(doc, entry.model).toContain(`| \`${entry.model}\` |`);
    }
    expect(doc).toContain("[2026-11](https://platform.openai.com/docs/models/gpt-4o)");
  });
});
