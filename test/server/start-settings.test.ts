// Where the gateway listens and keeps its files, and which database it opens, are the operator's to get right: an
// empty PORT, HOST or SWITCHBOARD_DATA_DIR was taken as a value (a random port, every interface, the working
// directory), and an unreachable database or a HOST no interface has stopped the start with a stack trace (exit 1)
// naming neither setting. Each is now one line naming the setting, exit 78, and never a password.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.js";
import { requireService } from "../support/require-service.js";
import { freePort } from "../support/services.js";
import { POSTGRES_PEPPER, tempDir } from "../support/stores.js";

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    buildConfig({}, env, "environment");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  return "accepted";
}

describe("empty settings", () => {
  it("refuses an empty PORT, HOST or SWITCHBOARD_DATA_DIR, naming it", () => {
    for (const variable of ["PORT", "HOST", "SWITCHBOARD_DATA_DIR"]) {
      for (const empty of ["", "  "]) expect(refusal({ [variable]: empty })).toBe(`environment: ${variable}: is set but empty: give it a value, or unset it for the default`);
    }
  });

  it("takes unset ones as the defaults, and PORT=0 as any free port (what the tests run on)", () => {
    const config = buildConfig({}, {}, "environment");
    expect(config.server).toMatchObject({ port: 8080, host: "0.0.0.0" });
    expect(config.dataDir).toBe("./data");
    expect(buildConfig({}, { PORT: "0" }, "environment").server.port).toBe(0);
    expect(buildConfig({ server: { host: "127.0.0.1" }, data_dir: "/srv/sb" }, {}, "switchboard.yaml")).toMatchObject({ server: { host: "127.0.0.1" }, dataDir: "/srv/sb" });
  });
});

/** Starts the real CLI and expects it to refuse: exit 78 and one line. A gateway that listens instead is stopped. */
async function refused(env: Record<string, string>): Promise<string> {
  const gateway: GatewayProcess = spawnGateway({ SWITCHBOARD_MASTER_KEY: "sk-test-start-settings", SWITCHBOARD_DATA_DIR: tempDir("sb-settings-"), ...env });
  const listened = await Promise.race([gateway.exited.then(() => false), gateway.listening().then(() => true, () => new Promise<never>(() => {}))]);
  if (listened) {
    gateway.child.kill("SIGTERM");
    await gateway.exited;
  }
  const output = gateway.output().trim();
  expect(await gateway.exited, output).toBe(78);
  const lines = output.split("\n").filter((line) => !line.startsWith("{"));
  expect(lines, output).toHaveLength(1);
  return lines[0]!;
}

describe("start failures outside the configuration file", { timeout: 60_000 }, () => {
  it("a database that refuses connections: DATABASE_URL named, the password not", async () => {
    const url = `postgres://switchboard:pg-s3cret-pw@127.0.0.1:${await freePort()}/switchboard`;
    const line = await refused({ DATABASE_URL: url, SWITCHBOARD_PEPPER: POSTGRES_PEPPER });
    expect(line).toMatch(/^switchboard: configuration error: environment: DATABASE_URL: cannot connect to the Postgres store \(.*ECONNREFUSED.*\)$/);
    expect(line).not.toContain("pg-s3cret-pw");
  });

  it("a database that does not exist on a server that answers", async () => {
    const url = new URL(requireService("SWITCHBOARD_TEST_DATABASE_URL"));
    url.password = "pg-s3cret-pw";
    url.pathname = "/no_such_database";
    const line = await refused({ DATABASE_URL: url.toString(), SWITCHBOARD_PEPPER: POSTGRES_PEPPER });
    expect(line).toBe('switchboard: configuration error: environment: DATABASE_URL: cannot connect to the Postgres store (database "no_such_database" does not exist)');
  });

  it("a HOST that no interface has", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it, and binding to it sends nothing.
    const line = await refused({ HOST: "192.0.2.1" });
    expect(line).toBe('switchboard: configuration error: environment: HOST: cannot listen on "192.0.2.1" (EADDRNOTAVAIL: no interface has that address; check HOST)');
  });
});
