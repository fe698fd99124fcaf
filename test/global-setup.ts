import type { TestProject } from "vitest/node";
import { startOpenBao, startPostgres, startRedis, type RunningService } from "./support/services.js";

declare module "vitest" {
  export interface ProvidedContext {
    services: Record<string, string>;
    servicesError: string;
  }
}

/**
 * Starts the real services once for the whole run. A service that cannot
 * start does not stop the other tests: the tests that need it fail with the
 * reason (see `requireService`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const running: RunningService[] = [];
  const errors: string[] = [];
  const env: Record<string, string> = {};
  await Promise.all(
    [startPostgres, startRedis, startOpenBao].map(async (startService) => {
      try {
        const service = await startService();
        running.push(service);
        Object.assign(env, service.env);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }),
  );
  project.provide("services", env);
  project.provide("servicesError", errors.join("\n"));
  return async () => {
    await Promise.all(running.map((service) => service.stop()));
  };
}
