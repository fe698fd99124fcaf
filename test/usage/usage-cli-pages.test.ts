// `switchboard usage` prints the whole report: it asks GetUsageReport for its
// largest pages and follows next_page_token to the last, sending the rest of
// the request unchanged. A stub AdminService on loopback answers two pages.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MoneySchema } from "../../gen/ts/google/type/money_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportResponseSchema, UsageReportRowSchema, type GetUsageReportRequest } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { usageCommand } from "../../src/cli/usage-command.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

const row = (key: string, requests: number) => create(UsageReportRowSchema, { key: `keys/${key}`, requests: BigInt(requests), cost: create(MoneySchema, { currencyCode: "USD", units: BigInt(requests) }) });
const TOTAL = row("", 6);
const PAGES: Record<string, { rows: ReturnType<typeof row>[]; next: string }> = {
  "": { rows: [row("alpha", 3), row("beta", 2)], next: "page-2" },
  "page-2": { rows: [row("gamma", 1)], next: "" },
};

let server: Server;
let url: string;
const asked: GetUsageReportRequest[] = [];

beforeAll(async () => {
  const routes = (router: ConnectRouter) =>
    router.service(AdminService, {
      getUsageReport(req) {
        asked.push(req);
        const page = PAGES[req.pageToken]!;
        return create(GetUsageReportResponseSchema, { rows: page.rows, total: TOTAL, nextPageToken: page.next });
      },
    });
  server = createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("switchboard usage", () => {
  it("follows the report's pages to the last and prints every row and the total", async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await usageCommand(["--by", "key", "--team", "ops", "--json"], { stdout, stderr, env: { SWITCHBOARD_URL: url, SWITCHBOARD_ADMIN_KEY: "sk-sb-test" } });
    expect(stderr.text).toBe("");
    expect(code).toBe(0);
    const printed = JSON.parse(stdout.text);
    expect(printed.rows.map((r: { key: string }) => r.key)).toEqual(["alpha", "beta", "gamma"]);
    expect(printed.total.requests).toBe(6);
    expect(asked.map((req) => [req.pageToken, req.pageSize, req.team])).toEqual([
      ["", 5000, "ops"],
      ["page-2", 5000, "ops"],
    ]);
    expect(asked[1]!.startTime).toEqual(asked[0]!.startTime);
  });

  it("without --since asks for the 30 days before --until, which it ends, however long ago", async () => {
    for (const until of ["2026-01-31T00:00:00Z", "60d"]) {
      asked.length = 0;
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await usageCommand(["--until", until, "--json"], { stdout, stderr, env: { SWITCHBOARD_URL: url, SWITCHBOARD_ADMIN_KEY: "sk-sb-test" } });
      expect(stderr.text).toBe("");
      expect(code).toBe(0);
      // Before, the window began 30 days before now: after an --until older than that, a start after the end.
      expect(timestampMs(asked[0]!.endTime!) - timestampMs(asked[0]!.startTime!)).toBe(30 * 86_400_000);
    }
  });
});
