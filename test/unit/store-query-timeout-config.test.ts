// store.query_timeout_ms bounds what a call waits on the store (a key lookup), and on Postgres the pool's connections
// and statements: read from the file, 5 s when unset, refused when it could not bound anything.
import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema } from "../../src/config/schema.js";

describe("store.query_timeout_ms", () => {
  it("is 5 s unless the file says otherwise", () => {
    expect(buildConfig({}, { OPENAI_API_KEY: "sk-x" }, "env").usage?.store.queryTimeoutMs).toBe(5_000);
    expect(buildConfig({ store: { query_timeout_ms: 800 } }, { OPENAI_API_KEY: "sk-x", DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" }, "file").usage?.store).toEqual({ kind: "postgres", queryTimeoutMs: 800 });
  });

  it("must be a whole number of milliseconds, at least one", () => {
    for (const query_timeout_ms of [0, -1, 1.5]) expect(fileSchema.safeParse({ store: { query_timeout_ms } }).success, String(query_timeout_ms)).toBe(false);
    expect(fileSchema.safeParse({ store: { timeout: 1 } }).success).toBe(false);
  });
});
