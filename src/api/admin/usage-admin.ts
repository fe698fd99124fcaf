import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportResponseSchema } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { principalKey } from "../../auth/principal.js";
import type { LedgerStore } from "../../usage/ledger-store.js";
import { FieldViolations } from "../aip/field-violations.js";
import { teamWithinReach } from "./team-reach.js";
import { sumRows, toReportRow } from "./usage-messages.js";
import { nextReportPageToken, readUsageReport } from "./usage-requests.js";

export interface UsageAdminDeps {
  ledger: LedgerStore;
  /** The accounting currency (the total's, when the window holds no row). */
  currency: string;
  /** Writes queued ledger rows first, so a report includes calls that just ended on this instance. */
  flush(): Promise<void>;
}

/** The part of the AdminService that createUsageAdmin implements. */
export type UsageAdmin = Pick<ServiceImpl<typeof AdminService>, "getUsageReport">;

/** AdminService.GetUsageReport: sums from the usage ledger, grouped as asked, a page of rows at a time. */
export function createUsageAdmin(deps: UsageAdminDeps): UsageAdmin {
  return {
    async getUsageReport(req, ctx) {
      const v = new FieldViolations();
      const query = readUsageReport(req, v, Date.now());
      v.throwIfAny();
      query.team = teamWithinReach(ctx.values.get(principalKey), query.team, "team");
      // A store that cannot take the rows now still answers with what it has.
      await deps.flush().catch(() => {});
      const { offset, limit } = query.page;
      // One more than the page: whether there is a next page.
      const rows = await deps.ledger.report({ ...query, page: { offset, limit: limit + 1 } });
      const page = rows.slice(0, limit);
      const more = rows.length > limit;
      // The total is the whole report's, on every page: summed in the store unless this page is the whole report.
      const whole = offset === 0 && !more ? page : await deps.ledger.report({ ...query, groupBy: [], page: undefined });
      return create(GetUsageReportResponseSchema, {
        rows: page.map(toReportRow),
        total: toReportRow(sumRows(whole, deps.currency)),
        startTime: timestampFromMs(query.startMs),
        endTime: timestampFromMs(query.endMs),
        nextPageToken: more ? nextReportPageToken(req, query) : "",
      });
    },
  };
}
