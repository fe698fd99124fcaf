import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { ROOT } from "../clients/support/client-harness.js";
import { launchChromium } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// Issue 10: a key stored before the gateway refused look-alike spaces showed
// in the console as written, so "ops team" and "ops\u00a0team" read the same.
// The gateway no longer takes such a key, so ListKeys' answer is given one,
// as a store kept from before would list it.
const LEGACY = {
  name: "keys/legacy",
  displayName: "ops\u00a0team",
  team: "pay\u2009ments",
  allowedModels: ["gpt-4o ", "gpt-4o-mini\u3164"],
  state: "GATEWAY_KEY_STATE_ACTIVE",
};

let gateway: TestGateway;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(ROOT, "scripts/ensure-build.mjs"), "--only=console"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);
  gateway = await startGateway({});
  await createClient(AdminService, gateway.transport("connect", MASTER_KEY)).createKey({ keyId: "plain", key: { displayName: "ops team", team: "payments", allowedModels: ["gpt-4o"] } });
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await page.route("**/switchboard.v1.AdminService/ListKeys", async (route) => {
    const answer = await route.fetch();
    const listed = (await answer.json()) as { keys?: unknown[] };
    await route.fulfill({ response: answer, json: { ...listed, keys: [...(listed.keys ?? []), LEGACY] } });
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

describe("names stored before look-alike spaces were refused, in the console", () => {
  it("writes out each character a key's name, team or scope cannot show, so look-alikes read apart", async () => {
    await page.goto(`${gateway.url}/console/`);
    await page.getByLabel("Admin key").fill(MASTER_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Keys", exact: true }).click();
    const legacy = page.locator('tr[data-key="keys/legacy"]');
    const plain = page.locator('tr[data-key="keys/plain"]');
    await legacy.waitFor();

    expect(await legacy.locator(".key-name").textContent()).toBe("ops⟨U+00A0⟩team");
    expect(await legacy.locator("td").nth(0).textContent()).toBe("pay⟨U+2009⟩ments");
    expect(await legacy.locator("td").nth(1).textContent()).toBe("gpt-4o⟨U+0020⟩, gpt-4o-mini⟨U+3164⟩");
    expect(await legacy.locator(".hidden-char").allTextContents()).toEqual(["⟨U+00A0⟩", "⟨U+2009⟩", "⟨U+0020⟩", "⟨U+3164⟩"]);
    expect(await legacy.locator(".hidden-char").first().getAttribute("class")).toContain("muted");
    await legacy.getByRole("button", { name: "Edit ops⟨U+00A0⟩team" }).waitFor();

    // The name stored as it should be is shown as written.
    expect(await plain.locator(".key-name").textContent()).toBe("ops team");
    expect(await plain.locator("td").nth(0).textContent()).toBe("payments");
    expect(await plain.locator(".hidden-char").count()).toBe(0);
  }, 60_000);
});
