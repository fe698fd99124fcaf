import { describe, expect, it } from "vitest";
import { csvCell } from "../../web/src/csv-cell.js";

describe("a CSV cell of the console's usage export", () => {
  it.each([
    ["=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\t=1", "\"'\t=1\""],
    ["\r=1", "\"'\r=1\""],
  ])("%j is never read as a formula: %j", (text, cell) => {
    expect(csvCell(text)).toBe(cell);
  });

  it("quotes a cell holding a comma, quote or line break, and leaves plain text alone", () => {
    expect(csvCell("keys/a,b")).toBe('"keys/a,b"');
    expect(csvCell("a\nb")).toBe('"a\nb"');
    expect(csvCell("keys/pg-key")).toBe("keys/pg-key");
  });

  it("quotes a cell holding a semicolon or a tab, where spreadsheets of many locales split a CSV: no formula cell mid-value", () => {
    expect(csvCell("gpt-4o;=1+1;")).toBe('"gpt-4o;=1+1;"');
    expect(csvCell("gpt-4o\t=cmd|' /C calc'!A0")).toBe('"gpt-4o\t=cmd|\' /C calc\'!A0"');
  });
});
