// `switchboard usage --by surface` names the calls that record no surface (the typed API, chat completions) for what
// they are, never "(other)": GetUsageStats and the console give that name to groups folded together. A stub
// AdminService on loopback answers the report.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportResponseSchema, UsageReportRowSchema } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { usageCommand } from "../../src/cli/usage-command.js";
import { ANTHROPIC_MESSAGES, OPENAI_RESPONSES, UNRECORDED_SURFACE_LABEL } from "../../src/usage/recorded-surfaces.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

const row = (surface: string, requests: number) => create(UsageReportRowSchema, { surface, requests: BigInt(requests) });

let server: Server;
let url: string;

beforeAll(async () => {
  const routes = (router: ConnectRouter) =>
    router.service(AdminService, {
      getUsageReport: () => create(GetUsageReportResponseSchema, { rows: [row(ANTHROPIC_MESSAGES, 42), row("", 48), row(OPENAI_RESPONSES, 9)], total: row("", 99) }),
    });
  server = createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function usage(...args: string[]): Promise<string> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await usageCommand(args, { stdout, stderr, env: { SWITCHBOARD_URL: url, SWITCHBOARD_ADMIN_KEY: "sk-sb-test" } });
  expect(stderr.text).toBe("");
  expect(code).toBe(0);
  return stdout.text;
}

describe("switchboard usage --by surface", () => {
  it("names the typed API and chat completions, never as the folded '(other)'", async () => {
    const table = await usage("--by", "surface");
    const surfaces = table.split("\n").map((line) => line.split(/\s{2,}/)[0]);
    expect(surfaces).toEqual(expect.arrayContaining([ANTHROPIC_MESSAGES, "(typed API or chat completions)", OPENAI_RESPONSES]));
    expect(table).not.toContain("(other)");

    const json = JSON.parse(await usage("--by", "surface", "--json"));
    expect(json.rows.map((r: { surface: string }) => r.surface)).toEqual([ANTHROPIC_MESSAGES, UNRECORDED_SURFACE_LABEL, OPENAI_RESPONSES]);
  });

  it("is the label the ledger's documentation gives", () => {
    const docs = readFileSync(join(import.meta.dirname, "../../docs/keys-and-usage.md"), "utf8");
    expect(docs).toContain(`\`switchboard usage --by surface\` shows as \`${UNRECORDED_SURFACE_LABEL}\``);
  });
});
