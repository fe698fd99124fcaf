import { startGateway, type TestGateway } from "../../support/gateway.js";

/** A gateway whose one OpenAI key, "prod", is the entry `name` of the encrypted secrets file that `env` names and holds the keys of. */
export function startFileKeyGateway(vendorUrl: string, name: string, env: Record<string, string>): Promise<TestGateway> {
  return startGateway(env, { providers: { openai: { base_url: vendorUrl, keys: [{ id: "prod", secret: `file:${name}`, weight: 1 }] } } });
}
