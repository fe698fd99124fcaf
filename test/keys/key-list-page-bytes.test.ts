// Audit admin2 F2: ListKeys gave 1,000 keys a page whatever their size, a
// 13 MB answer of the largest keys (100 globs of 128 characters) that held up
// another team's calls for 2 s. A page now also ends once its keys take
// 1 MiB encoded, and its next_page_token continues exactly after it.
import { toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayKeySchema, type GatewayKey } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { KEY_PAGE_BOUNDS } from "../../src/api/admin/key-requests.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const LARGE_KEYS = 100;
const encodedSize = (keys: GatewayKey[]) => keys.reduce((sum, key) => sum + toBinary(GatewayKeySchema, key).length, 0);

describe("ListKeys pages bounded by their size", () => {
  let gw: TestGateway;
  const admin = () => createClient(AdminService, gw.transport("connect-h2"));
  const made: string[] = [];
  let largest = 0;

  beforeAll(async () => {
    gw = await startGateway({});
    for (let i = 0; i < LARGE_KEYS; i++) {
      const globs = Array.from({ length: 100 }, (_, g) => `model-${String(g).padStart(3, "0")}-${"x".repeat(118)}`);
      const { key } = await admin().createKey({ keyId: `large-${String(i).padStart(3, "0")}`, key: { displayName: "n".repeat(128), team: "t".repeat(128), allowedModels: globs } });
      made.push(key!.name);
      largest = Math.max(largest, toBinary(GatewayKeySchema, key!).length);
    }
    // Small keys after them: a page that ends early by size picks up where it stopped.
    for (let i = 0; i < 5; i++) made.push((await admin().createKey({ keyId: `small-${i}`, key: { displayName: `small ${i}` } })).key!.name);
  });
  afterAll(() => gw.stop());

  it("ends a page once its keys pass 1 MiB, however many were asked for", async () => {
    const first = await admin().listKeys({ pageSize: 1000 });
    expect(first.keys.length).toBeGreaterThan(0);
    expect(first.keys.length).toBeLessThan(LARGE_KEYS);
    // The key that passes the bound is the page's last.
    expect(encodedSize(first.keys)).toBeLessThan(KEY_PAGE_BOUNDS.maxBytes + largest);
    expect(encodedSize(first.keys.slice(0, -1))).toBeLessThan(KEY_PAGE_BOUNDS.maxBytes);
    expect(first.nextPageToken).not.toBe("");
  });

  it("continues each page exactly where the one before ended, to the last key", async () => {
    const listed: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await admin().listKeys({ pageSize: 1000, pageToken: token });
      listed.push(...page.keys.map((key) => key.name));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(listed).toEqual(made);
    expect(pages).toBeGreaterThan(1);
  });

  it("keeps counting pages by page_size when the keys are small", async () => {
    const page = await admin().listKeys({ pageSize: 3, filter: '"small"' });
    expect(page.keys.map((key) => key.name)).toEqual(made.slice(LARGE_KEYS, LARGE_KEYS + 3));
    const rest = await admin().listKeys({ pageSize: 3, filter: '"small"', pageToken: page.nextPageToken });
    expect(rest.keys.map((key) => key.name)).toEqual(made.slice(LARGE_KEYS + 3));
    expect(rest.nextPageToken).toBe("");
  });
});
