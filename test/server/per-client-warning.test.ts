import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { PerClientWarning } from "../../src/server/per-client-warning.js";

describe("a warning about a client address", () => {
  it("is logged once per address per interval, then with the count since, and forgets quiet addresses", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("warn", new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString())), done()) }));
    let now = 0;
    const warning = new PerClientWarning(logger, "flooding", 10_000, () => now);
    for (let i = 0; i < 5; i++) warning.note("198.51.100.1", { reason: "resets" });
    warning.note("198.51.100.2", { reason: "resets" });
    expect(lines.map((line) => [line.client, line.occurrences])).toEqual([
      ["198.51.100.1", 1],
      ["198.51.100.2", 1],
    ]);
    now += 10_000;
    warning.prune(); // the 4 since the first line are logged; the other address, with nothing new, is forgotten
    expect(lines.slice(2).map((line) => [line.client, line.occurrences])).toEqual([["198.51.100.1", 4]]);
    now += 10_000;
    warning.prune();
    expect((warning as unknown as { clients: Map<string, unknown> }).clients.size).toBe(0);
    expect(lines).toHaveLength(3);
  });
});
