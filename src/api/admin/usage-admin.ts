import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportResponseSchema } from "../../../gen/ts/switchboard/v1/admin_usage_pb.js";
import type { LedgerStore } from "../../usage/ledger-store.js";
import { FieldViolations } from "../aip/field-violations.js";
import { sumRows, toReportRow } from "./usage-messages.js";
import { readUsageReport } from "./usage-requests.js";

export interface UsageAdminDeps {
  ledger: LedgerStore;
  /** The accounting currency (the total's, when the window holds no row). */
  currency: string;
  /** Writes queued ledger rows first, so a report includes calls that just ended on this instance. */
  flush(): Promise<void>;
}

/** The part of the AdminService that createUsageAdmin implements. */
export type UsageAdmin = Pick<ServiceImpl<typeof AdminService>, "getUsageReport">;

/** AdminService.GetUsageReport: sums from the usage ledger, grouped as asked. */
export function createUsageAdmin(deps: UsageAdminDeps): UsageAdmin {
  return {
    async getUsageReport(req) {
      const v = new FieldViolations();
      const query = readUsageReport(req, v, Date.now());
      v.throwIfAny();
      // A store that cannot take the rows now still answers with what it has.
      await deps.flush().catch(() => {});
      const rows = await deps.ledger.report(query);
      return create(GetUsageReportResponseSchema, {
        rows: rows.map(toReportRow),
        total: toReportRow(sumRows(rows, deps.currency)),
        startTime: timestampFromMs(query.startMs),
        endTime: timestampFromMs(query.endMs),
      });
    },
  };
}
