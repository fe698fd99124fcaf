import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/client-harness.js";

// A code block in the docs that follows `<!-- tested: <file> -->` must be made of
// lines of that file, in the file's order (indentation aside): the snippets show
// code that the client tests run, and cannot drift from it unnoticed.
const DOCS = ["docs/clients.md", "README.md"].filter((doc) => existsSync(join(ROOT, doc)));
const MARKED_BLOCK = /<!-- tested: (\S+) -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;

function snippets(doc: string): { file: string; code: string }[] {
  return [...readFileSync(join(ROOT, doc), "utf8").matchAll(MARKED_BLOCK)].map((m) => ({ file: m[1]!, code: m[2]! }));
}

/** The snippet lines not found, in order, among the file's lines. */
function missingLines(code: string, source: string): string[] {
  const lines = source.split("\n").map((line) => line.trim());
  const missing: string[] = [];
  let at = 0;
  for (const line of code.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const found = lines.findIndex((candidate, i) => i >= at && candidate.includes(line));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

describe.each(DOCS)("code snippets in %s", (doc) => {
  it("come from the tested examples, line for line", () => {
    const found = snippets(doc);
    if (doc === "docs/clients.md") expect(found.map((s) => s.file)).toEqual(expect.arrayContaining(["examples/go/main.go", "examples/python/example.py", "examples/typescript/client.ts", "examples/typescript/browser.ts", "test/clients/grpcurl.test.ts"]));
    for (const { file, code } of found) {
      expect(missingLines(code, readFileSync(join(ROOT, file), "utf8")), `lines of the ${file} snippet in ${doc} that ${file} lacks (in this order)`).toEqual([]);
    }
  });
});
