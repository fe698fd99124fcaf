// addressesThisMachine remembers its verdict per Host value (a client sends the same one on
// every request): a remembered verdict is the judged one, past the memory's bound and for a
// value too long to be remembered too.
import { describe, expect, it } from "vitest";
import { addressesThisMachine } from "../../src/server/host-check.js";

const LOCAL = ["localhost", "a.b.localhost:80", "127.0.0.1:8080", "0x7f.1", "[::1]:8080", "192.168.1.2"];
const FOREIGN = ["example.com", "localhost.example.com", "xn--localhost", "a b", "[::1"];

describe("addressesThisMachine's remembered verdicts", () => {
  it("answers a Host value asked again as it did the first time", () => {
    for (let round = 0; round < 3; round++) {
      for (const host of LOCAL) expect({ host, round, ok: addressesThisMachine(host) }).toEqual({ host, round, ok: true });
      for (const host of FOREIGN) expect({ host, round, ok: addressesThisMachine(host) }).toEqual({ host, round, ok: false });
    }
  });

  it("judges rightly after many distinct values have filled its memory", () => {
    for (let i = 0; i < 1_000; i++) expect(addressesThisMachine(`host-${i}.example.com`)).toBe(false);
    for (let i = 0; i < 1_000; i++) expect(addressesThisMachine(`10.0.${i >> 8}.${i & 0xff}:80`)).toBe(true);
    for (const host of LOCAL) expect(addressesThisMachine(host)).toBe(true);
    for (const host of FOREIGN) expect(addressesThisMachine(host)).toBe(false);
  });

  it("judges a value too long to remember each time", () => {
    const long = `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.${"e".repeat(60)}.localhost`;
    for (let i = 0; i < 2; i++) {
      expect(addressesThisMachine(long)).toBe(true);
      expect(addressesThisMachine(`${long}.example.com`)).toBe(false);
    }
  });
});
