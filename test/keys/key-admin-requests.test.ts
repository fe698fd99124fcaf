// What the key methods take: google.type.Money as its contract has it, enum
// values the contract knows, and ListKeys page tokens that continue only the
// listing they came from (AIP-158).
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BudgetPeriod, type BudgetExhaustedAction } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway, type Protocol } from "../support/gateway.js";

const fields = (err: ConnectError) => err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field) ?? [];
const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

describe("key method requests", () => {
  let gw: TestGateway;
  const admin = (protocol: Protocol = "connect") => createClient(AdminService, gw.transport(protocol));

  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(() => gw.stop());

  const refused = async (call: Promise<unknown>, field: string) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.InvalidArgument);
    expect(fields(err)).toContain(field);
  };

  it.each<Protocol>(["connect", "connect-h2"])("refuses Money with mixed signs or nanos past a unit, and enum values the contract does not know (%s)", async (protocol) => {
    const key = (budget: object) => ({ key: { displayName: "money", budget } });
    await refused(admin(protocol).createKey(key({ limit: { units: 1n, nanos: -5 } })), "key.budget.limit");
    await refused(admin(protocol).createKey(key({ limit: { units: -1n, nanos: 5 } })), "key.budget.limit");
    await refused(admin(protocol).createKey(key({ limit: { units: 1n, nanos: 1_999_999_999 } })), "key.budget.limit.nanos");
    await refused(admin(protocol).createKey(key({ limit: { units: 0n, nanos: -1_000_000_000 } })), "key.budget.limit.nanos");
    await refused(admin(protocol).createKey(key({ limit: { units: 1n }, period: 99 as BudgetPeriod })), "key.budget.period");
    await refused(admin(protocol).createKey(key({ limit: { units: 1n }, whenExhausted: 7 as BudgetExhaustedAction })), "key.budget.when_exhausted");

    const made = await admin(protocol).createKey(key({ limit: { units: 1n, nanos: 500_000_000 }, period: BudgetPeriod.WEEK }));
    const name = made.key!.name;
    expect(made.key?.budget).toMatchObject({ limit: { units: 1n, nanos: 500_000_000 }, period: BudgetPeriod.WEEK });
    await refused(admin(protocol).updateKey({ key: { name, budget: { period: 99 as BudgetPeriod } }, updateMask: mask("budget.period") }), "key.budget.period");
    await refused(admin(protocol).updateKey({ key: { name, budget: { whenExhausted: 7 as BudgetExhaustedAction } }, updateMask: mask("budget.when_exhausted") }), "key.budget.when_exhausted");
    await refused(admin(protocol).updateKey({ key: { name, budget: { limit: { units: 2n, nanos: -1 } } }, updateMask: mask("budget.limit") }), "key.budget.limit");
    expect((await admin(protocol).getKey({ name })).key?.budget).toMatchObject({ limit: { units: 1n, nanos: 500_000_000 }, period: BudgetPeriod.WEEK });
  });

  it("takes a page token only with the filter it was issued for", async () => {
    for (const team of ["paged-a", "paged-b"]) {
      for (let i = 0; i < 3; i++) await admin().createKey({ keyId: `${team}-${i}`, key: { displayName: `${team} ${i}`, team } });
    }
    const first = await admin().listKeys({ pageSize: 1, filter: 'team = "paged-a"' });
    expect(first.keys.map((key) => key.name)).toEqual(["keys/paged-a-0"]);
    const err = await failure(admin().listKeys({ pageSize: 1, filter: 'team = "paged-b"', pageToken: first.nextPageToken }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(fields(err)).toEqual(["page_token"]);
    await refused(admin().listKeys({ pageSize: 1, pageToken: first.nextPageToken }), "page_token");
    // The same filter written another way selects the same keys: its token goes on.
    const next = await admin().listKeys({ pageSize: 1, filter: 'team="paged-a"', pageToken: first.nextPageToken });
    expect(next.keys.map((key) => key.name)).toEqual(["keys/paged-a-1"]);
    // A hand-made position far before the first key is not a token this list issued.
    const handMade = Buffer.from(JSON.stringify(["ListKeys", [-1e308, "", "x"]])).toString("base64url");
    await refused(admin().listKeys({ pageToken: handMade }), "page_token");
  });
});
