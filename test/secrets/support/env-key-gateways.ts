import { startGateway, type TestGateway } from "../../support/gateway.js";

/** A pool's keys, one of weight 1 for each id, its secret read from the environment variable named: `{ a: "KEY_A" }`. */
export function keysFromEnv(variables: Record<string, string>): { id: string; secret: string; weight: number }[] {
  return Object.entries(variables).map(([id, variable]) => ({ id, secret: `env:${variable}`, weight: 1 }));
}

/**
 * A gateway whose OpenAI keys are "primary" and "backup" (OPENAI_API_KEY and
 * OPENAI_API_KEY_BACKUP in `env`), with a 1.5 s vendor timeout and canaries
 * promoted after 1,000 good calls unless staged with their own count: the
 * gateway the rotation-restart tests start again and again on one store.
 */
export function startPrimaryAndBackupGateway(vendorUrl: string, env: Record<string, string>): Promise<TestGateway> {
  return startGateway(env, {
    providers: { openai: { base_url: vendorUrl, timeout_ms: 1_500, keys: keysFromEnv({ primary: "OPENAI_API_KEY", backup: "OPENAI_API_KEY_BACKUP" }) } },
    key_pool: { promote_after: 1_000 },
  });
}
