import { inject } from "vitest";

/**
 * The address of a real service started by the global setup. Throws (failing
 * the test, never skipping it: see setup-failure-runner.ts for a throw in a
 * `beforeAll`) when the service could not be started, with the reason and the
 * command that installs it.
 */
export function requireService(
  name: "SWITCHBOARD_TEST_DATABASE_URL" | "SWITCHBOARD_TEST_REDIS_URL" | "SWITCHBOARD_TEST_VAULT_ADDR" | "SWITCHBOARD_TEST_VAULT_TOKEN" | "SWITCHBOARD_TEST_AWS_ENDPOINT" | "SWITCHBOARD_TEST_JAEGER_OTLP" | "SWITCHBOARD_TEST_JAEGER_QUERY",
): string {
  const value = inject("services")[name];
  if (!value) {
    throw new Error(`${name} is not available: ${inject("servicesErrors")[name] ?? "its service did not start"}`);
  }
  return value;
}
