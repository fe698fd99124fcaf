// DATABASE_URL is checked like REDIS_URL: a password holding an unencoded / ? # or @ was split by the
// URL parser, a piece of it read as the host (looked up in DNS, printed in the connection error), and a
// URL the Postgres client could not read stopped the start with "Invalid URL" and a stack trace (exit 1).
// Both are now one line naming DATABASE_URL, exit 78, quoting nothing of the URL.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { spawnGateway } from "../support/gateway-process.js";
import { POSTGRES_PEPPER, tempDir } from "../support/stores.js";

const CUT_SHORT = "environment: DATABASE_URL: has a / ? # or @ in its user or password (an @ after the host): percent-encode them (%2F, %3F, %23, %40)";
const TWO_ATS = "environment: DATABASE_URL: has an unencoded @ in its user or password: write it as %40";
const UNREADABLE = "environment: DATABASE_URL: is not a URL the Postgres client can read (postgres://user:password@host:port/database; percent-encode : / ? # @ % in the user or password)";

function refusal(url: string): string {
  try {
    buildConfig({}, { DATABASE_URL: url }, "environment");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  return "accepted";
}

describe("DATABASE_URL's user and password", () => {
  it("refuses an unencoded / ? # or @ in them, quoting nothing", () => {
    const cases: [url: string, message: string][] = [
      ["postgres://sb:Pg@Pass#SECRET@127.0.0.1:5432/sb", CUT_SHORT],
      ["postgres://sb:Xk9#vQ2mZ8pLw@127.0.0.1:5432/sb", CUT_SHORT],
      ["postgres://sb:1234#vQ2mZ8pLw@127.0.0.1:5432/sb", CUT_SHORT],
      ["postgresql://sb:pa/ssWORD@127.0.0.1/sb", CUT_SHORT],
      ["postgres://sb:pa?ssWORD@127.0.0.1/sb", CUT_SHORT],
      ["postgres://sb:Pg@PassWORD@127.0.0.1:5432/sb", TWO_ATS],
    ];
    for (const [url, message] of cases) expect(refusal(url), url).toBe(message);
  });

  it("takes them percent-encoded, and the client's other shapes", () => {
    for (const url of [
      "postgres://sb:Pg%40Pass%23SECRET%2F%3F@127.0.0.1:5432/sb",
      "postgres://sb:pw@/sb?host=/var/run/postgresql",
      "postgresql://db.internal/sb?sslmode=require",
      "postgres://127.0.0.1:5432",
    ]) {
      expect(refusal(url), url).toBe("accepted");
    }
  });
});

/** Starts the real CLI and expects it to refuse: exit 78 and one line (beside JSON log lines). */
async function refusedAtStart(url: string): Promise<string> {
  const gateway = spawnGateway({ SWITCHBOARD_MASTER_KEY: "sk-test-database-url", SWITCHBOARD_DATA_DIR: tempDir("sb-dburl-"), SWITCHBOARD_PEPPER: POSTGRES_PEPPER, DATABASE_URL: url });
  const code = await gateway.exited;
  const output = gateway.output().trim();
  expect(code, output).toBe(78);
  const lines = output.split("\n").filter((line) => !line.startsWith("{"));
  expect(lines, output).toHaveLength(1);
  return lines[0]!;
}

describe("DATABASE_URL at start", { timeout: 60_000 }, () => {
  it("a password cut short by # is refused before anything connects or looks a name up", async () => {
    const line = await refusedAtStart("postgres://sb:Pg@Pass#SECRET@127.0.0.1:9/sb");
    expect(line).toBe(`switchboard: configuration error: ${CUT_SHORT}`);
  });

  it("a URL the client cannot read is a configuration error, not a stack trace", async () => {
    const line = await refusedAtStart("postgres://sb:pw-s3cret@127.0.0.1:99999/sb");
    expect(line).toBe(`switchboard: configuration error: ${UNREADABLE}`);
  });
});
