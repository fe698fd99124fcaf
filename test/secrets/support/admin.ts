import { toJsonString } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { ListProvidersResponseSchema, type ProviderCredential } from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { OpenAIFake } from "../../fakes/openai-fake.js";
import type { TestGateway } from "../../support/gateway.js";

export function adminClient(gw: TestGateway, key?: string | null): Client<typeof AdminService> {
  return createClient(AdminService, gw.transport("connect", key));
}

/** A provider's credentials by resource name, plus the answer as JSON (for secret scans). */
export async function credentials(admin: Client<typeof AdminService>, provider: string): Promise<{ byName: Map<string, ProviderCredential>; json: string }> {
  const answer = await admin.listProviders({});
  const found = answer.providers.find((p) => p.name === `providers/${provider}`);
  if (!found) throw new Error(`no providers/${provider} in ListProviders`);
  return { byName: new Map(found.credentials.map((c) => [c.name, c])), json: toJsonString(ListProvidersResponseSchema, answer) };
}

/** Each of a provider's credentials' state, by resource name (the master key's view). */
export async function credentialStates(gw: TestGateway, provider = "openai"): Promise<Map<string, ProviderCredential["state"]>> {
  return new Map([...(await credentials(adminClient(gw), provider)).byName].map(([name, credential]) => [name, credential.state]));
}

export const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

/** Upstream requests per vendor key since `from` (an index into the fake's request log). */
export function requestsByKey(fake: OpenAIFake, from = 0): Map<string, number> {
  const counts = new Map<string, number>();
  for (const req of fake.requests.slice(from)) {
    const key = (req.headers.authorization ?? "").replace(/^Bearer\s+/, "");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Runs `n` chat calls one after the other; returns how many failed (with their messages). */
export async function calls(gw: TestGateway, n: number): Promise<{ ok: number; failed: string[] }> {
  const client = gw.client();
  let ok = 0;
  const failed: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await client.chat(hello);
      ok++;
    } catch (err) {
      failed.push((err as Error).message);
    }
  }
  return { ok, failed };
}
