// A request to a path no route serves (no such service or RPC method, or a
// path that is neither, off the REST prefix) is answered 404 as before, and
// now counted (method "unknown", never its path as a label) and logged at
// debug, once a minute at most, its path cut short and its control
// characters written out.
import { connect as connectH2 } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ LOG_LEVEL: "debug" });
});
afterAll(async () => {
  await gw?.stop();
});

const unknownCount = async (): Promise<number> =>
  Number(/switchboard_requests_total\{surface="unknown",method="unknown",code="unimplemented"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);

/** One HTTP/2 request with any path; resolves to its status. */
function h2Request(path: string, headers: Record<string, string> = {}): Promise<number> {
  const session = connectH2(gw.url);
  return new Promise<number>((resolve, reject) => {
    const stream = session.request({ ":method": headers["content-type"] ? "POST" : "GET", ":path": path, ...headers });
    stream.on("response", (headers) => resolve(Number(headers[":status"])));
    stream.on("error", reject);
    stream.resume();
    stream.end();
  }).finally(() => session.close());
}

describe("requests no route serves", () => {
  it("are answered 404 as before, counted under one series, and logged once, the path cut short and escaped", async () => {
    // HTTP/2 carries a C1 control character in a path (CSI: a terminal's escape), as a byte of Latin-1.
    const path = `/\u009b[2J${"/a".repeat(5_000)}`;
    expect(await h2Request(path)).toBe(404);
    const noted = gw.logs.entries.filter((line) => line.msg?.startsWith("requests to a path no route serves"));
    expect(noted).toHaveLength(1);
    expect(noted[0]).toMatchObject({ level: "debug", method: "GET", occurrences: 1 });
    expect(noted[0]!.path).toBe(`/\\x9b[2J${"/a".repeat(97)}/…`);
    expect(gw.logs.text).not.toContain("\u009b");

    // An unknown RPC method of a known service, over Connect and gRPC, and a path that is nothing.
    const json = await fetch(`${gw.url}/switchboard.v1.AIService/NoSuchMethod`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(404);
    // gRPC's is a trailers-only 200 with grpc-status UNIMPLEMENTED (test/server/protocol-refusals.test.ts).
    expect(await h2Request("/grpc.health.v1.Health/NoSuchMethod", { "content-type": "application/grpc", te: "trailers" })).toBe(200);
    expect((await fetch(`${gw.url}/wp-login.php`)).status).toBe(404);

    expect(await unknownCount()).toBe(4);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).not.toContain("NoSuchMethod");
    expect(text).not.toContain("wp-login");
    // Once a minute at most: the later three were counted, not logged.
    expect(gw.logs.entries.filter((line) => line.msg?.startsWith("requests to a path no route serves"))).toHaveLength(1);
  });
});
