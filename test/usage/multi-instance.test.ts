import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { TestGateway } from "../support/gateway.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

const hi = (model: string) => ({ model, messages: [{ role: Role.USER, content: "hi" }] });

async function outcome(call: Promise<unknown>): Promise<"ok" | string> {
  try {
    await call;
    return "ok";
  } catch (err) {
    const error = ConnectError.from(err);
    return `${Code[error.code]}:${error.findDetails(ErrorInfoSchema)[0]?.reason ?? ""}`;
  }
}

// Two gateway instances behind an imaginary load balancer: one Postgres (keys,
// ledger), one Redis (limits, spend, revocations). What one key may do holds
// across both, as if there were one gateway.
describe("two gateway instances sharing Postgres and Redis", () => {
  let world: UsageWorld;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    world = await startUsageWorld("postgres+redis");
    a = world.gw;
    b = await world.start();
  });
  afterAll(() => world.close());

  it("holds one key's rate limit across both", async () => {
    const { secret } = await world.admin(a).createKey({ key: { displayName: "shared limit", requestsPerMinute: 4 } });
    const results: string[] = [];
    // Alternating instances: each alone would allow 4.
    for (let i = 0; i < 8; i++) results.push(await outcome((i % 2 === 0 ? a : b).client("connect", secret).chat(hi("gpt-4o-mini"))));
    expect(results.slice(0, 4)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(results.slice(4)).toEqual(Array(4).fill("ResourceExhausted:RATE_LIMITED"));
  });

  it("holds one key's budget across both, concurrent calls included", async () => {
    // $6 a call against $20: the fourth call starts at $18 and is the last; each instance alone would allow four.
    const { secret, key } = await world.admin(b).createKey({ key: { displayName: "shared budget", budget: { limit: { units: 20n } } } });
    const sequential: string[] = [];
    for (let i = 0; i < 6; i++) sequential.push(await outcome((i % 2 === 0 ? a : b).client("connect", secret).chat(hi("gpt-4o"))));
    expect(sequential).toEqual(["ok", "ok", "ok", "ok", "ResourceExhausted:BUDGET_EXHAUSTED", "ResourceExhausted:BUDGET_EXHAUSTED"]);
    const status = (await world.admin(a).getKey({ name: key!.name })).key?.budgetStatus;
    expect(Number(status?.spent?.units)).toBe(24);

    // A burst on both at once: reservations of calls in flight count, so at most the budget's worth starts.
    const burst = await world.admin(a).createKey({ key: { displayName: "burst budget", budget: { limit: { units: 20n } } } });
    const asking = { ...hi("gpt-4o"), maxTokens: 1 };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => outcome((i % 2 === 0 ? a : b).client("connect", burst.secret).chat(asking))));
    const served = results.filter((r) => r === "ok").length;
    // Each call reserves an upper bound (its estimated tokens at $1) before it runs; the rest are refused.
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(4);
    expect(results.filter((r) => r !== "ok").every((r) => r === "ResourceExhausted:BUDGET_EXHAUSTED")).toBe(true);
  });

  it("makes a revocation on one instance reach the other, long before B's cache would let the key go", async () => {
    const { secret, key } = await world.admin(a).createKey({ key: { displayName: "to revoke" } });
    // Instance B has the key in its cache (trusted for a minute: src/auth/stored-key-directory.ts).
    expect(await outcome(b.client("connect", secret).chat(hi("gpt-4o-mini")))).toBe("ok");
    await world.admin(a).revokeKey({ name: key!.name });
    // The news reaches B over Redis at once, and through its poll of the store within a second; the wait allows for
    // a loaded CI machine, and is still far short of the minute after which B would have asked the store anyway.
    await expect.poll(() => outcome(b.client("connect", secret).chat(hi("gpt-4o-mini"))), { timeout: 10_000, interval: 20 }).toMatch(/^Unauthenticated/);
  });

  it("refuses to start an instance whose pepper differs from the others'", async () => {
    await expect(world.start({ SWITCHBOARD_PEPPER: "not-the-pepper-the-others-use" })).rejects.toThrow(/hashed under another pepper: every instance sharing a store needs the same SWITCHBOARD_PEPPER/);
  });

  it("reports every instance's calls from the one ledger", async () => {
    const { secret } = await world.admin(a).createKey({ keyId: "both-report", key: { displayName: "report", team: "ledger" } });
    await a.client("connect", secret).chat(hi("gpt-4o-mini"));
    await b.client("connect", secret).chat(hi("gpt-4o-mini"));
    await b.client("connect", secret).chat(hi("gpt-4o-mini"));
    // B's rows reach the shared ledger within its flush interval (50 ms): A's report cannot flush them, so it polls; the
    // wait allows for a loaded CI machine (each try is a Postgres round trip or two), it promises no speed.
    await expect.poll(async () => Number((await world.admin(a).getUsageReport({ key: "keys/both-report" })).total?.requests), { timeout: 10_000 }).toBe(3);
  });
});
