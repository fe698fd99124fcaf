import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES } from "../../src/common/request-objects.js";
import { MASTER_KEY } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";

// A REST body holding more objects or values than any call needs is refused
// before JSON.parse builds it (8 MiB of `{},` took JSON.parse 1.8 s), with
// the surface's 400, as a body nested too deep is.

const world = rawRpcWorld();
const auth = { authorization: `Bearer ${MASTER_KEY}` };
const manyObjects = `{"model":"gpt-4o-mini","messages":[${"{},".repeat(MAX_REQUEST_OBJECTS)}{}]}`;
const manyValues = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"x":[${"1,".repeat(MAX_REQUEST_VALUES)}1]}}`;

describe("REST: a body past the object bounds", () => {
  it.each([
    ["chat completions, objects", "/v1/chat/completions", {}, Buffer.from(manyObjects), `holds more than ${MAX_REQUEST_OBJECTS} objects`],
    ["chat completions, values", "/v1/chat/completions", {}, Buffer.from(manyValues), `holds more than ${MAX_REQUEST_VALUES} values`],
    ["responses, gzip", "/v1/responses", { "content-encoding": "gzip" }, gzipSync(manyObjects), `holds more than ${MAX_REQUEST_OBJECTS} objects`],
    ["messages", "/v1/messages", { "anthropic-version": "2023-06-01" }, Buffer.from(manyObjects), `holds more than ${MAX_REQUEST_OBJECTS} objects`],
  ])("%s: the surface's 400", async (_, path, headers, body, problem) => {
    const res = await fetch(world.gw.url + path, { method: "POST", headers: { ...auth, "content-type": "application/json", ...headers }, body });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain(`the body ${problem}`);
  });
});
