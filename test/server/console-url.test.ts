import { describe, expect, it } from "vitest";
import { consoleUrl } from "../../src/server/console-url.js";

describe("the console address in the start log", () => {
  it("is https when the server speaks TLS (plain HTTP to a TLS port gets no answer)", () => {
    expect(consoleUrl({ address: "0.0.0.0", port: 8443 }, true)).toBe("https://localhost:8443/console");
  });

  it("is http without TLS, with IPv6 addresses in brackets", () => {
    expect(consoleUrl({ address: "::", port: 8080 }, false)).toBe("http://localhost:8080/console");
    expect(consoleUrl({ address: "::1", port: 8080 }, false)).toBe("http://[::1]:8080/console");
  });
});
