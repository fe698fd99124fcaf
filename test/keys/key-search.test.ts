import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storeEnv, type StoreKind } from "../support/stores.js";

/** A filter's quoted value, as AIP-160 escapes it. */
const quoted = (text: string) => `"${text.replace(/[\\"]/g, "\\$&")}"`;

// ListKeys searches every key, not one page: a bare quoted text (AIP-160's
// global restriction) matches a key whose display name, id or team holds it,
// ignoring case, and the matches are paged like any listing. The console's
// search box sends it; before, it filtered the 20 keys on screen only and
// said "No key matches" for a key on the next page.
describe.each<StoreKind>(["sqlite", "postgres"])("ListKeys search on %s", (kind) => {
  let gw: TestGateway;
  let drop: () => Promise<void>;
  const admin = () => createClient(AdminService, gw.transport("connect"));
  const ids = async (filter: string, pageSize = 100) => (await admin().listKeys({ filter, pageSize })).keys.map((key) => key.name.replace(/^keys\//, ""));

  beforeAll(async () => {
    const store = await storeEnv(kind);
    drop = store.drop;
    gw = await startGateway(store.env);
    for (let i = 0; i < 25; i++) await admin().createKey({ keyId: `filler-${i}`, key: { displayName: `filler ${i}`, team: "ops" } });
    await admin().createKey({ keyId: "zeta-needle", key: { displayName: "Zeta", team: "search" } });
    await admin().createKey({ keyId: "haystack-1", key: { displayName: "Big NEEDLE eye", team: "ops" } });
    await admin().createKey({ keyId: "haystack-2", key: { displayName: "plain", team: "needlework" } });
    await admin().createKey({ keyId: "quoted-team", key: { displayName: "quotes", team: 'R AND "D" \\ lab' } });
    await admin().createKey({ keyId: "wildcards", key: { displayName: "100%_sure", team: "ops" } });
  });
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  it("finds a key past the first page by its id, display name or team, ignoring case", async () => {
    expect((await admin().listKeys({ pageSize: 20 })).keys.map((key) => key.name)).not.toContain("keys/zeta-needle");
    expect(await ids('"needle"')).toEqual(["zeta-needle", "haystack-1", "haystack-2"]);
    expect(await ids('"NeEdLe" AND team = "ops"')).toEqual(["haystack-1"]);
    expect(await ids('"no such key"')).toEqual([]);
  });

  it("matches % and _ as themselves, not as wildcards", async () => {
    expect(await ids('"0%_s"')).toEqual(["wildcards"]);
    expect(await ids('"%"')).toEqual(["wildcards"]);
    expect(await ids('"r_n"')).toEqual([]);
  });

  it("pages through the matches, and refuses a page token of another search", async () => {
    const first = await admin().listKeys({ filter: '"needle"', pageSize: 2 });
    expect(first.keys.map((key) => key.name)).toEqual(["keys/zeta-needle", "keys/haystack-1"]);
    const second = await admin().listKeys({ filter: '"needle"', pageSize: 2, pageToken: first.nextPageToken });
    expect(second.keys.map((key) => key.name)).toEqual(["keys/haystack-2"]);
    expect(second.nextPageToken).toBe("");
    const other = await failure(admin().listKeys({ filter: '"filler"', pageSize: 2, pageToken: first.nextPageToken }));
    expect(other.code).toBe(Code.InvalidArgument);
    expect(other.rawMessage).toContain("page_token: was issued for another filter");
  });

  it("matches a team whose name holds quotes, a backslash and an AND, by an escaped value", async () => {
    expect(await ids(`team = ${quoted('R AND "D" \\ lab')}`)).toEqual(["quoted-team"]);
    expect(await ids(quoted('"D" \\'))).toEqual(["quoted-team"]);
  });

  it("refuses, in words, a search longer than any name and a second one", async () => {
    const long = await failure(admin().listKeys({ filter: quoted("x".repeat(129)) }));
    expect(long.code).toBe(Code.InvalidArgument);
    expect(long.rawMessage).toBe("filter: a text to search for must be at most 128 characters");
    expect((await failure(admin().listKeys({ filter: '"a" AND "b"' }))).rawMessage).toBe("filter: at most one text to search for");
  });
});
