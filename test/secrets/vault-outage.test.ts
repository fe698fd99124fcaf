// Vault goes away while the gateway serves: no call fails, health says
// "degraded" (not failed). A private OpenBao server, since this test stops it.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { CredentialState } from "../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { startOpenBao, type RunningService } from "../support/services.js";
import { adminClient, credentials } from "./support/admin.js";
import { BaoAdmin, eventually } from "./support/bao.js";
import { chatLoops } from "./support/traffic.js";

const VENDOR_KEY = `sk-outage-${Math.random().toString(36).slice(2)}`;
let openbao: RunningService;
let bao: BaoAdmin;
let token: string;
let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  openbao = await startOpenBao();
  bao = new BaoAdmin(openbao.env.SWITCHBOARD_TEST_VAULT_ADDR!, openbao.env.SWITCHBOARD_TEST_VAULT_TOKEN!);
  await bao.readPolicy("switchboard", "secret", "switchboard");
  await bao.put("secret", "switchboard/openai", { api_key: VENDOR_KEY });
  // A short-lived token: its renewals fail during the outage too, and still no call does.
  // (Not shorter: on a busy machine the gateway's start-up lookup must still find it alive.)
  token = await bao.token({ policies: ["switchboard"], ttl: "8s", renewable: true });
  fake = await startOpenAIFake({ apiKey: VENDOR_KEY });
  gw = await startGateway(
    { VAULT_ADDR: bao.addr, VAULT_TOKEN: token },
    {
      providers: { openai: { base_url: fake.baseUrl, keys: [{ id: "primary", secret: "vault:secret/switchboard/openai#api_key", weight: 1 }] } },
      secrets: { vault: { refresh_ms: 200, timeout_ms: 500 } },
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await openbao?.stop();
});

describe("Vault stopped mid-run", () => {
  it("fails no call, keeps the last known key, and reports degraded health", async () => {
    const health = createClient(Health, gw.transport("connect", null));
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toMatchObject({ status: "ok", dependencies: { vault: "ok" } });

    const load = chatLoops(gw);
    // Calls are flowing before Vault goes (however long the first ones take on a busy machine).
    await eventually(async () => expect(load.ok).toBeGreaterThan(0), 10_000);
    const before = load.ok;
    await openbao.stop();
    // Long enough for several re-reads and the token's renewal to fail.
    await eventually(async () => {
      const body = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
      expect(body.status).toBe("degraded");
      // The cause in a few words (/healthz needs no key); the log line has Vault's.
      expect(body.dependencies.vault).toBe("degraded: serving the last known secrets (unreachable)");
    }, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    await load.stop();

    expect(load.failed).toEqual([]);
    expect(before).toBeGreaterThan(0);
    expect(load.ok - before).toBeGreaterThan(50);

    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200); // degraded, not failed: calls go on
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "vault" })).status).toBe(Status.NOT_SERVING);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('switchboard_secret_source_up{source="vault"} 0');
    const primary = (await credentials(adminClient(gw), "openai")).byName.get("providers/openai/credentials/primary@v1")!;
    expect(primary.state).toBe(CredentialState.ACTIVE);

    expect(gw.logs.entries.some((e) => e.msg === "Vault cannot be read: serving the last known secrets")).toBe(true);
    for (const secret of [VENDOR_KEY, token, bao.rootToken, MASTER_KEY]) {
      expect(gw.logs.text).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
  }, 30_000);
});
