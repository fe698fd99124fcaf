import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startJaeger, startMoto, startOpenBao, startPostgres, startRedis, type RunningService } from "./support/services.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The variables of the services that started (see `requireService`). */
    services: Record<string, string>;
    /** For each variable of a service that did not start: why. */
    servicesErrors: Record<string, string>;
  }
}

const SERVICES = [
  { name: "PostgreSQL", start: startPostgres, provides: ["SWITCHBOARD_TEST_DATABASE_URL"] },
  { name: "Redis", start: startRedis, provides: ["SWITCHBOARD_TEST_REDIS_URL"] },
  { name: "OpenBao", start: startOpenBao, provides: ["SWITCHBOARD_TEST_VAULT_ADDR", "SWITCHBOARD_TEST_VAULT_TOKEN"] },
  // AWS Secrets Manager and KMS (moto in server mode, from .venv).
  { name: "moto (AWS)", start: () => startMoto(), provides: ["SWITCHBOARD_TEST_AWS_ENDPOINT"] },
  // The trace backend for test/observability (OTLP in, the query API out).
  { name: "Jaeger", start: startJaeger, provides: ["SWITCHBOARD_TEST_JAEGER_OTLP", "SWITCHBOARD_TEST_JAEGER_QUERY"] },
];

const ROOT = join(import.meta.dirname, "..");
/** What the client tests run; they fail, saying so, without it. */
const TOOLS = [
  { name: "grpcurl", present: () => existsSync(join(ROOT, ".tools/bin/grpcurl")) },
  { name: "the Python environment (.venv)", present: () => existsSync(join(ROOT, ".venv/bin/python")) },
  { name: "Go", present: () => (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, "go"))) },
  { name: "Chromium", present: () => existsSync("/usr/bin/chromium") },
];

const INSTALL_HINT = "`npm run test:all` installs what is missing and runs the suite (only the installation: `bash scripts/install-test-deps.sh`)";

/**
 * Starts the real services once for the whole run. A service that cannot
 * start does not stop the other tests: the tests that need it fail with the
 * reason (see `requireService`), and this says up front, and again after the
 * run, what is missing and the command that installs it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const running: RunningService[] = [];
  const env: Record<string, string> = {};
  const errors: Record<string, string> = {};
  const failed: string[] = [];
  await Promise.all(
    SERVICES.map(async ({ name, start, provides }) => {
      try {
        const service = await start();
        running.push(service);
        Object.assign(env, service.env);
      } catch (err) {
        const reason = (err as Error).message;
        failed.push(`  - ${name}: ${reason}`);
        for (const variable of provides) errors[variable] = `${name} did not start: ${reason}`;
      }
    }),
  );
  project.provide("services", env);
  project.provide("servicesErrors", errors);

  const missingTools = TOOLS.filter((tool) => !tool.present()).map((tool) => tool.name);
  const notice =
    failed.length + missingTools.length === 0
      ? undefined
      : [
          "",
          ...(failed.length ? ["Test services that could not start (every test that needs one fails, saying so):", ...failed.sort()] : []),
          ...(missingTools.length ? [`Missing tools (the client tests that run them fail): ${missingTools.join(", ")}.`] : []),
          `To run every test: ${INSTALL_HINT}.`,
          "",
        ].join("\n");
  if (notice) process.stderr.write(notice);
  return async () => {
    await Promise.all(running.map((service) => service.stop()));
    if (notice) process.stderr.write(notice);
  };
}
