import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../support/gateway.js";

// CreateKey's answer holds a new key's secret and the other admin answers every
// key's spend: no cache between the console and the gateway may keep them, and
// a browser must take them for nothing but what they say they are (console audit L6).

const MASTER = "sk-test-master-key-0123456789";

describe("AdminService answers", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function admin(method: string, body: unknown, key = MASTER): Promise<Response> {
    return fetch(`${gw.url}/switchboard.v1.AdminService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
  }

  it.each([
    ["CreateKey, with the new key's secret", "CreateKey", { key: { displayName: "headers" } }, MASTER, 200],
    ["ListKeys", "ListKeys", {}, MASTER, 200],
    ["a refusal", "ListKeys", {}, "sk-sb-not-a-key", 401],
  ])("are kept out of caches and not sniffed: %s", async (_, method, body, key, status) => {
    const res = await admin(method, body, key);
    expect(res.status).toBe(status);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    if (method === "CreateKey") expect(((await res.json()) as { secret: string }).secret).toMatch(/^sk-sb-/);
  });
});
