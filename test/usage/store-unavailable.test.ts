// With the database unreachable, the AdminService answered Internal (HTTP 500) and logged each call as a bug, and the
// CLI then asked whether the gateway was running. A store that cannot be reached is Unavailable STORE_UNAVAILABLE with
// RetryInfo, and the CLI says the database is unreachable; it asks about the gateway only when the gateway never answered.
import { Writable } from "node:stream";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { keysCommand } from "../../src/cli/keys-command.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { toConnectError } from "../../src/gateway/errors.js";
import { storeUnavailable } from "../../src/store/store-errors.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/services.js";
import { createPostgresDatabase, POSTGRES_PEPPER } from "../support/stores.js";
import { addressOf, tcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy.js";

const coded = (code: string, message = "") => Object.assign(new Error(message), { code });

describe("which store errors mean the store cannot be reached", () => {
  it("tells a connection failure, a shutdown or a timeout from a statement's own fault", () => {
    const unavailable = [
      coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"),
      // Node's error for a refusal on every address of a name: a code, no message.
      Object.assign(new AggregateError([], ""), { code: "ECONNREFUSED" }),
      coded("ETIMEDOUT"),
      coded("57P01", "terminating connection due to administrator command"),
      coded("57P03", "the database system is starting up"),
      coded("08006", "connection failure"),
      coded("53300", "sorry, too many clients already"),
      coded("25006", "cannot execute INSERT in a read-only transaction"),
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated due to connection timeout"),
      new Error("timeout exceeded when trying to connect"),
      new Error("Cannot use a pool after calling end on the pool"),
      new Error("database is locked"),
    ];
    for (const err of unavailable) expect(storeUnavailable(err), `${(err as { code?: string }).code} ${err.message}`).toBe(true);
    const faults = [coded("42601", 'syntax error at or near "SELEC"'), coded("23505", "duplicate key value"), new Error("UNIQUE constraint failed: gateway_keys.id"), new TypeError("x is undefined"), "a string", undefined];
    for (const err of faults) expect(storeUnavailable(err)).toBe(false);
  });

  it("answers Unavailable STORE_UNAVAILABLE with RetryInfo, naming no host", () => {
    const err = toConnectError(coded("ECONNREFUSED", "connect ECONNREFUSED 10.1.2.3:5432"));
    expect(err.code).toBe(Code.Unavailable);
    expect(reasonOf(err)).toBe("STORE_UNAVAILABLE");
    expect(err.findDetails(RetryInfoSchema)).toHaveLength(1);
    expect(err.message).not.toContain("10.1.2.3");
    expect(reasonOf(toConnectError(coded("42601", "syntax error")))).toBe("INTERNAL");
  });
});

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const stderr = new Capture();
  const code = await keysCommand(args, { stdout: new Capture(), stderr, env });
  return { code, stderr: stderr.text };
}

describe("the AdminService while Postgres is unreachable", () => {
  let fake: OpenAIFake;
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    database = await createPostgresDatabase();
    proxy = await tcpProxy(addressOf(database.url));
    await proxy.open();
    gw = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, DATABASE_URL: throughProxy(database.url, proxy), SWITCHBOARD_PEPPER: POSTGRES_PEPPER });
  });
  afterAll(async () => {
    await proxy?.open();
    await gw?.stop();
    await proxy?.close();
    await database?.drop();
    await fake?.close();
  });

  it("answers Unavailable STORE_UNAVAILABLE with RetryInfo, logs no bug, and the CLI says the database is unreachable", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const { key } = await admin.createKey({ key: { displayName: "before the outage" } });
    await proxy.cut();

    const calls: [string, Promise<unknown>][] = [
      ["ListKeys", admin.listKeys({})],
      ["CreateKey", admin.createKey({ key: { displayName: "during the outage" } })],
      ["RevokeKey", admin.revokeKey({ name: key!.name })],
      ["GetUsageReport", admin.getUsageReport({ groupBy: [UsageDimension.KEY] })],
    ];
    for (const [method, call] of calls) {
      const err = await failure(call);
      expect(err.code, `${method}: ${err.message}`).toBe(Code.Unavailable);
      expect(reasonOf(err), method).toBe("STORE_UNAVAILABLE");
      expect(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds, method).toBe(1n);
      expect(err.findDetails(ErrorInfoSchema)[0]?.domain).toBe("switchboard.dev");
    }
    // Not a bug: no error line with a stack for these calls.
    const failed = gw.logs.entries.filter((entry) => entry.msg === "call failed" && /AdminService/.test(String(entry.method)));
    expect(failed.length).toBeGreaterThanOrEqual(4);
    expect(failed.filter((entry) => entry.level >= 50 || entry.cause !== undefined)).toEqual([]);

    const listed = await cli(["list"], { SWITCHBOARD_URL: gw.url, SWITCHBOARD_ADMIN_KEY: MASTER_KEY });
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/^switchboard: Unavailable: .*database cannot be reached/);
    expect(listed.stderr).toMatch(/the gateway is running, but its database cannot be reached/);
    expect(listed.stderr).not.toMatch(/is the gateway running/);
  });

  it("the CLI asks whether the gateway is running only when nothing answered", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const refused = await cli(["list"], { SWITCHBOARD_URL: nobody, SWITCHBOARD_ADMIN_KEY: MASTER_KEY });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`(is the gateway running at ${nobody}? set SWITCHBOARD_URL)`);
  });
});
