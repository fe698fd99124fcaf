// GetUsageReport's filters are compared with the ledger's text: each is
// bounded and free of control characters (Postgres text holds no NUL, so one
// would be an Internal error there); `surface` is one of the names rows carry,
// so a typo is refused rather than selecting nothing (audit firsthour3, finding 5).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { GetUsageReportRequestSchema, type GetUsageReportRequest } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { FieldViolations } from "../../src/api/aip/field-violations.js";
import { readUsageReport } from "../../src/api/admin/usage-requests.js";

const NOW = Date.UTC(2026, 5, 1);

/** The fields an InvalidArgument for the request names; none when the request is fine. */
function violatedFields(request: Pick<GetUsageReportRequest, "surface"> | Pick<GetUsageReportRequest, "team">): string[] {
  const v = new FieldViolations();
  readUsageReport(create(GetUsageReportRequestSchema, request), v, NOW);
  try {
    v.throwIfAny();
    return [];
  } catch (err) {
    const error = ConnectError.from(err);
    expect(error.code).toBe(Code.InvalidArgument);
    return error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field) ?? [];
  }
}

describe("GetUsageReport's surface filter", () => {
  it.each([
    ["a NUL", "chat\u0000"],
    ["a line break", "chat\ncompletions"],
    ["3 MB", "s".repeat(3_000_000)],
  ])("refuses %s as InvalidArgument naming surface, as team, provider and model are", (_, surface) => {
    expect(violatedFields({ surface })).toEqual(["surface"]);
    expect(violatedFields({ team: surface })).toEqual(["team"]);
  });

  it("takes a surface rows name, and none", () => {
    const v = new FieldViolations();
    expect(readUsageReport(create(GetUsageReportRequestSchema, { surface: "openai_responses" }), v, NOW).surface).toBe("openai_responses");
    expect(readUsageReport(create(GetUsageReportRequestSchema, {}), v, NOW).surface).toBeUndefined();
    expect(violatedFields({ surface: "anthropic_messages" })).toEqual([]);
  });

  it("refuses a surface no row names, a typo above all", () => {
    expect(violatedFields({ surface: "anthropic_message" })).toEqual(["surface"]);
    expect(violatedFields({ surface: "openai.chat" })).toEqual(["surface"]);
  });
});
