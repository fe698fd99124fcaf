// A key lookup that goes to the store is shared out by the caller's address (src/auth/store-lookup-room.ts), so every
// surface's key gate must hand the directory its connection's address: REST, Connect and gRPC alike.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import { StoredKeyDirectory } from "../../src/auth/stored-key-directory.js";
import { clientKey } from "../../src/common/client-address.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("the key gates", () => {
  let gateway: TestGateway;
  const lookups = vi.spyOn(StoredKeyDirectory.prototype, "lookup");

  beforeAll(async () => {
    gateway = await startGateway({ SWITCHBOARD_MASTER_KEY: "sk-test-master-key-client-address" });
  });
  afterAll(async () => {
    lookups.mockRestore();
    await gateway?.stop();
  });

  /** The client each lookup since `from` was made for. */
  const clientsSince = (from: number) => lookups.mock.calls.slice(from).map(([, remoteAddress]) => clientKey(remoteAddress));

  it("hand the key directory the caller's address on REST", async () => {
    const from = lookups.mock.calls.length;
    const answer = await fetch(`http://127.0.0.1:${gateway.port}/v1/models`, { headers: { authorization: `Bearer ${generateGatewayKey()}` } });
    expect(answer.status).toBe(401);
    expect(clientsSince(from)).not.toHaveLength(0);
    expect(new Set(clientsSince(from))).toEqual(new Set(["127.0.0.1"]));
  });

  it.each(["connect", "grpc"] as const)("hand the key directory the caller's address on %s", async (protocol) => {
    const from = lookups.mock.calls.length;
    await failure(gateway.client(protocol, generateGatewayKey()).listModels({}));
    expect(clientsSince(from)).not.toHaveLength(0);
    expect(new Set(clientsSince(from))).toEqual(new Set(["127.0.0.1"]));
  });
});
