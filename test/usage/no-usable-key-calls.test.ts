// A call refused because its provider's pool has no key to use (operators disabled them all) is no vendor's
// rejection, and it is still a call to that provider: its error says whose doing it is
// (NO_PROVIDER_AVAILABLE, not UPSTREAM_CREDENTIAL_REJECTED), and its log line and ledger row name the
// provider and model it was for, so `switchboard usage --by provider` counts it under the provider, not "(none)".
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY } from "../support/gateway.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };
const OPERATORS = "operators disabled or rotated out every key, the vendor rejected none; stage one with AdminService.StageKey";

describe("calls to a provider whose keys operators all disabled", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
    await world.admin().disableKey({ name: "providers/openai/credentials/env", reason: "leaked" });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("are refused as NO_PROVIDER_AVAILABLE, saying operators took the keys out, with no retry to wait for", async () => {
    const sent = world.fake.requests.length;
    const err = await failure(world.gw.client("connect").chat(hi));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe(`provider "openai" has no usable key right now (1 disabled by an operator): ${OPERATORS}`);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "NO_PROVIDER_AVAILABLE", metadata: { provider: "openai" } });
    expect(err.findDetails(RetryInfoSchema)).toEqual([]);

    // The OpenAI SDKs are told not to retry what only an operator can mend.
    const rest = await fetch(`${world.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(rest.status).toBe(503);
    expect(rest.headers.get("x-should-retry")).toBe("false");
    expect(((await rest.json()) as { error: { code: string } }).error.code).toBe("no_provider_available");
    expect(world.fake.requests.length).toBe(sent);
  });

  it("are logged and billed under the provider and model they were for", async () => {
    await failure(world.gw.client("grpc").chat(hi));
    const lines = world.gw.logs.entries.filter((e) => e.msg === "call failed" && e.requestedModel === "gpt-4o-mini");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ provider: "openai", model: "gpt-4o-mini", status: "unavailable" });

    const report = async () => (await world.admin().getUsageReport({ groupBy: [UsageDimension.PROVIDER] })).rows.map((row) => [row.provider, Number(row.requests), Number(row.errors)]);
    await expect.poll(report).toEqual([["openai", lines.length, lines.length]]);
  });
});
