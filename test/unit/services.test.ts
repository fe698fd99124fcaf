import { describe, expect, it } from "vitest";
import { requireService } from "../support/require-service.js";

// The real services the global setup starts are reachable (the tests that use them rely on this).
describe("test services", () => {
  it("Postgres, Redis and OpenBao are running on loopback", async () => {
    expect(requireService("SWITCHBOARD_TEST_DATABASE_URL")).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(requireService("SWITCHBOARD_TEST_REDIS_URL")).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const vault = requireService("SWITCHBOARD_TEST_VAULT_ADDR");
    const health = await fetch(`${vault}/v1/sys/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { sealed: boolean }).sealed).toBe(false);
  });
});
