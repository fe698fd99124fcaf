import { describe, expect, it } from "vitest";
import { givenOnCommandLine } from "../../src/server/heap-tuning.js";

describe("the gateway's heap settings", () => {
  it("leave a flag the operator gave node as given, however spelled", () => {
    expect(givenOnCommandLine("heap-growing-percent", ["--heap-growing-percent=200"])).toBe(true);
    expect(givenOnCommandLine("heap-growing-percent", ["--heap_growing_percent=200"])).toBe(true);
    expect(givenOnCommandLine("allocation-site-pretenuring", ["--allocation-site-pretenuring"])).toBe(true);
    expect(givenOnCommandLine("allocation-site-pretenuring", ["--no-allocation_site_pretenuring"])).toBe(true);
  });

  it("set the rest", () => {
    expect(givenOnCommandLine("heap-growing-percent", [])).toBe(false);
    expect(givenOnCommandLine("heap-growing-percent", ["--max-old-space-size=512", "--enable-source-maps"])).toBe(false);
    expect(givenOnCommandLine("allocation-site-pretenuring", ["--allocation-site-pretenuring-extra"])).toBe(false);
  });
});
