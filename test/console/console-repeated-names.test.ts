import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { ROOT } from "../clients/support/client-harness.js";
import { launchChromium } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// The console in a real browser where what it lists repeats: request ids are
// the caller's to choose (x-request-id), a team may be called "(none)" as the
// keys without one are shown, and a two-day range charts each hour of the day
// twice. Rows keyed by those names were left behind in the page (a call
// feed of 9 calls showed 20 rows, growing with every repeat), and stayed
// after the page moved on to other data.
const DAY_MS = 86_400_000;

let fake: OpenAIFake;
let gateway: TestGateway;
let browser: Browser;
let noTeam = "";
let teamNone = "";

async function chat(key: string, requestId?: string): Promise<void> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(requestId ? { "x-request-id": requestId } : {}) },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

async function signedInAt(title: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await page.goto(`${gateway.url}/console/`);
  await page.getByLabel("Admin key").fill(MASTER_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: title, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
  return page;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(ROOT, "scripts/ensure-build.mjs"), "--only=console"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gateway = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  browser = await launchChromium();
  const admin = createClient(AdminService, gateway.transport("connect", MASTER_KEY));
  noTeam = (await admin.createKey({ keyId: "no-team", key: { displayName: "no team" } })).secret;
  teamNone = (await admin.createKey({ keyId: "team-none", key: { displayName: "team called (none)", team: "(none)" } })).secret;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await fake?.close();
});

describe("the web console with names that repeat", () => {
  it("shows each call once in the live tail, however many share a request id", async () => {
    const page = await signedInAt("Live calls");
    await expect.poll(() => page.locator(".live-dot").textContent()).toContain("live");
    const rows = () => page.locator("tr[data-request-id]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-request-id")));
    const sent: string[] = [];
    for (const id of ["same", "a1", "same", "a2", "same", "a3", "b1", "same", "b2"]) {
      await chat(noTeam, id);
      sent.unshift(id);
      // One at a time, each shown before the next: every repeat meets rows already on the page.
      await expect.poll(rows).toEqual(sent);
    }
    await page.context().close();
  }, 60_000);

  it("leaves no row or bar of one grouping or range in the next", async () => {
    await chat(noTeam);
    await chat(teamNone);
    await chat(teamNone);
    const page = await signedInAt("Usage");
    const groups = () => page.locator("tr[data-group]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-group")));
    await page.getByLabel("Group by").selectOption({ label: "Team" });
    await expect.poll(groups).toEqual(["(none)", "(none)"]);
    await page.getByLabel("Group by").selectOption({ label: "Provider" });
    await expect.poll(groups).toEqual(["openai"]);
    // A bucket is a group of the chart without a grid line (the ticks' groups have one).
    const buckets = () => page.locator("figure.chart svg > g:not(:has(line))").count();
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    await page.getByLabel("From (UTC)").fill(day(today - DAY_MS));
    await expect.poll(buckets).toBe(48);
    await page.getByLabel("From (UTC)").fill(day(today - 6 * DAY_MS));
    await expect.poll(buckets).toBe(7);
    await page.context().close();
  }, 60_000);
});
