// What the log says when Redis goes away, for whoever reads it at 3 a.m.: the line names the failure
// policy in force and what it means for calls; a key revoked meanwhile says the other instances still
// learn of it from the store, in the link's words rather than ioredis' ("Stream isn't writeable …").
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireService } from "../support/require-service.js";
import { redisPrefix, tempDir } from "../support/stores.js";
import { addressOf, tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const UNREACHABLE = {
  open: "Redis unreachable: limits and budgets are counted per instance (policy: fail open)",
  closed: "Redis unreachable: calls with limits or budgets are refused (policy: fail closed)",
} as const;

describe.each(["open", "closed"] as const)("Redis lost under REDIS_FAILURE_POLICY=%s", (policy) => {
  let fake: OpenAIFake;
  let proxy: TcpProxy;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    proxy = await tcpProxy(addressOf(requireService("SWITCHBOARD_TEST_REDIS_URL")));
    await proxy.open();
    gw = await startGateway({
      OPENAI_API_KEY: "sk-up",
      OPENAI_BASE_URL: fake.baseUrl,
      SWITCHBOARD_DATA_DIR: tempDir(),
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_PREFIX: redisPrefix(),
      REDIS_FAILURE_POLICY: policy,
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await proxy?.close();
    await fake?.close();
  });

  it("names the policy when Redis becomes unreachable, and says a revocation still reaches the other instances", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const created = await admin.createKey({ key: { displayName: "doomed" } });
    await proxy.cut();
    await expect.poll(() => gw.logs.entries.filter((e) => e.msg?.startsWith("Redis unreachable"))).toEqual([expect.objectContaining({ level: "warn", msg: UNREACHABLE[policy] })]);

    await admin.revokeKey({ name: created.key!.name });
    const keyId = created.key!.name.replace(/^keys\//, "");
    const announced = gw.logs.entries.filter((e) => e.key === keyId && e.msg?.startsWith("could not announce a key change on Redis"));
    expect(announced).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "could not announce a key change on Redis: the other instances still learn of it from the store's change log, which they poll",
        redis: expect.stringMatching(/^unreachable: /),
      }),
    ]);
    expect(gw.logs.text).not.toContain("enableOfflineQueue");
  });
});
