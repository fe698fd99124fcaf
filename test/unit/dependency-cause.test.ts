// What the unauthenticated /healthz says of a dependency that is down: a coarse
// cause, never the backend's own words (hosts, addresses, users, paths).
import { describe, expect, it } from "vitest";
import { dependencyCause } from "../../src/common/dependency-cause.js";

describe("a dependency's cause on /healthz", () => {
  it.each([
    ["connect ECONNREFUSED 10.0.0.5:6379", "ECONNREFUSED"],
    ["getaddrinfo ENOTFOUND redis.internal.example", "ENOTFOUND"],
    ["ENOSPC: no space left on device, write '/var/lib/switchboard/journal/0001.jsonl'", "ENOSPC"],
    ["SQLITE_FULL: database or disk is full", "SQLITE_FULL"],
    ["cannot execute INSERT in a read-only transaction", "read-only"],
    ['password authentication failed for user "switchboard"', "access denied"],
    ["WRONGPASS invalid username-password pair or user is disabled.", "access denied"],
    ["Connection is closed.", "connection closed"],
    ["Connection terminated unexpectedly", "connection closed"],
    ['database "ledger_prod" does not exist at db.internal:5432', "failed"],
  ])("%s → %s", (message, cause) => {
    expect(dependencyCause(message)).toBe(cause);
  });
});
