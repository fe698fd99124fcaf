import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { AwsSecretSource, type AwsSecretSourceOptions } from "../../../src/secrets/aws-secret-source.js";
import { AwsVersionNumbers } from "../../../src/secrets/aws-version-numbers.js";
import { migrate } from "../../../src/store/migrations.js";
import { SqliteDatabase } from "../../../src/store/sqlite-database.js";
import { tempDir } from "../../support/stores.js";

/**
 * A loopback stand-in for Secrets Manager's JSON API, answering as the test
 * says, and a migrated SQLite store for the version numbers the sources
 * reading from it keep: for what moto cannot be made to answer.
 */
export interface AwsStandIn {
  readonly db: SqliteDatabase;
  /** A source reading from the stand-in: test credentials, a 2 s timeout, a 60 s refresh, unless `options` say otherwise. */
  source(options: Pick<AwsSecretSourceOptions, "logger"> & Partial<AwsSecretSourceOptions>): AwsSecretSource;
  close(): Promise<void>;
}

/** Starts the stand-in with `answer` for every request; its store in a temporary directory named from `dirPrefix`. */
export async function startAwsStandIn(answer: RequestListener, dirPrefix: string): Promise<AwsStandIn> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const db = new SqliteDatabase(`${tempDir(dirPrefix)}/switchboard.db`);
  await migrate(db);
  return {
    db,
    source: (options) =>
      new AwsSecretSource({
        region: "us-east-1",
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        timeoutMs: 2_000,
        env: { AWS_ACCESS_KEY_ID: "AKIATESTSWITCHBOARD", AWS_SECRET_ACCESS_KEY: "test-secret-access-key" },
        refreshMs: 60_000,
        numbers: new AwsVersionNumbers(db),
        ...options,
      }),
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await db.close();
    },
  };
}
