// Text filters in admin requests are held to what they could match: a
// ListKeys `team = "…"` value is a team (at most 128 characters, no control
// characters), like the text a bare search gives, and WatchCalls' provider
// and model filters follow the usage reports' rule (256 characters, no
// control characters). Before, 2,000,000 characters or a NUL were taken.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { WatchCallsRequestSchema } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { ListKeysRequestSchema } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { readKeyListing } from "../../src/api/admin/key-requests.js";
import { createWatchCalls } from "../../src/api/admin/watch-calls.js";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { CallFeed } from "../../src/api/envelope/call-feed.js";

function listingViolations(filter: string): { field: string; description: string }[] {
  const v = new FieldViolations();
  readKeyListing(create(ListKeysRequestSchema, { filter }), v);
  try {
    v.throwIfAny();
    return [];
  } catch (err) {
    return ConnectError.from(err).findDetails(BadRequestSchema)[0]!.fieldViolations.map(({ field, description }) => ({ field, description }));
  }
}

describe("admin text filters", () => {
  it("ListKeys refuses a team filter longer than a team, or with control characters, naming filter", () => {
    expect(listingViolations(`team = "${"x".repeat(2_000_000)}"`)).toEqual([{ field: "filter", description: "team must be at most 128 characters" }]);
    expect(listingViolations('team = "a\u0000b\nc"')).toEqual([{ field: "filter", description: "team must not contain control characters" }]);
    expect(listingViolations('"pay\u0007"')).toEqual([{ field: "filter", description: "a text to search for must not contain control characters" }]);
    expect(listingViolations(`"${"x".repeat(129)}"`)).toEqual([{ field: "filter", description: "a text to search for must be at most 128 characters" }]);
    // As CreateKey trims a team, so does the filter: " alpha " lists team alpha.
    const v = new FieldViolations();
    expect(readKeyListing(create(ListKeysRequestSchema, { filter: `team = " alpha " AND state = ACTIVE` }), v).filter.team).toBe("alpha");
    expect(listingViolations(`team = "${"x".repeat(128)}"`)).toEqual([]);
  });

  it("ListKeys refuses a field compared twice, as it does a second text to search for, instead of keeping the last", () => {
    // `team = "a" AND team = "b"` listed team b.
    expect(listingViolations('team = "a" AND team = "b"')).toEqual([{ field: "filter", description: "at most one team comparison" }]);
    expect(listingViolations('team = "a" AND team = "a"')).toEqual([{ field: "filter", description: "at most one team comparison" }]);
    expect(listingViolations("admin = true AND state = ACTIVE AND admin = false")).toEqual([{ field: "filter", description: "at most one admin comparison" }]);
    expect(listingViolations("state = ACTIVE AND state = REVOKED")).toEqual([{ field: "filter", description: "at most one state comparison" }]);
    expect(listingViolations('"a" AND "b"')).toEqual([{ field: "filter", description: "at most one text to search for" }]);
    expect(listingViolations('team = "a" AND admin = true AND state = ACTIVE AND "pay"')).toEqual([]);
  });

  it("WatchCalls refuses provider and model filters past 256 characters or with control characters, before it watches", async () => {
    const feed = new CallFeed();
    const watch = createWatchCalls({ feed, currency: "USD" });
    const ctx = { values: createContextValues(), signal: new AbortController().signal } as unknown as HandlerContext;
    const refusal = async (request: { provider?: string; model?: string }) => {
      try {
        await watch.watchCalls(create(WatchCallsRequestSchema, request), ctx)[Symbol.asyncIterator]().next();
      } catch (err) {
        const error = ConnectError.from(err);
        expect(error.code).toBe(Code.InvalidArgument);
        return error.findDetails(BadRequestSchema)[0]!.fieldViolations.map(({ field, description }) => ({ field, description }));
      }
      throw new Error("the watch started");
    };
    expect(await refusal({ provider: "p".repeat(257) })).toEqual([{ field: "provider", description: "must be at most 256 characters, got 257" }]);
    expect(await refusal({ model: "gpt\u0000" })).toEqual([{ field: "model", description: "must not contain control characters" }]);
    expect(feed.watched).toBe(false);
  });
});
