import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { type Browser, type Page, type Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { ROOT } from "../clients/support/client-harness.js";
import { launchChromium } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// The web console in a real browser where the first console test does not
// go: more keys than a page, more models than a chart can tell apart, a date
// range of years, keys that are read-only, mistyped, revoked or not even
// sendable, and a live feed that has not connected yet or has seen more calls
// than it keeps. Each test failed on the console as the audit found it.
const DAY_MS = 86_400_000;
const TEAM = 'R&D "lab" \\ x';
const MADE_UP = Array.from({ length: 25 }, (_, i) => `gpt-4o-made-up-${String(i).padStart(2, "0")}`);
const ADMIN_CALL = /\/switchboard\.v1\.AdminService\//;

let fake: OpenAIFake;
let gateway: TestGateway;
let browser: Browser;
let adminSecret = "";
let viewerSecret = "";

function admin(key = MASTER_KEY) {
  return createClient(AdminService, gateway.transport("connect", key));
}

async function newPage(): Promise<Page> {
  return (await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true })).newPage();
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${gateway.url}/console/`);
  await page.getByLabel("Admin key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signedIn(key: string): Promise<Page> {
  const page = await newPage();
  await signIn(page, key);
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  return page;
}

async function open(page: Page, title: string): Promise<void> {
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: title, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
}

/** A Connect server stream's body (JSON): each message enveloped, then the end of the stream. */
function connectStream(messages: unknown[]): Buffer {
  const envelope = (flags: number, json: unknown) => {
    const data = Buffer.from(JSON.stringify(json));
    const head = Buffer.alloc(5);
    head.writeUInt8(flags, 0);
    head.writeUInt32BE(data.length, 1);
    return Buffer.concat([head, data]);
  };
  return Buffer.concat([...messages.map((m) => envelope(0, m)), envelope(2, {})]);
}

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(ROOT, "scripts/ensure-build.mjs"), "--only=console"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);
  fake = await startOpenAIFake({ apiKey: "sk-up" });
  gateway = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl });
  browser = await launchChromium();
  // More keys than a page of 20, the one searched for last.
  for (let i = 0; i < 25; i++) await admin().createKey({ keyId: `filler-${i}`, key: { displayName: `filler ${i}` } });
  await admin().createKey({ keyId: "zeta-needle", key: { displayName: "zeta" } });
  await admin().createKey({ keyId: "lab-key", key: { displayName: "lab key", team: TEAM } });
  adminSecret = (await admin().createKey({ keyId: "full-admin", key: { displayName: "full admin", admin: true } })).secret;
  viewerSecret = (await admin().createKey({ keyId: "viewer", key: { displayName: "viewer", admin: true, adminReadOnly: true } })).secret;
  // A key scoped gpt-4o* that makes up model names: 26 groups in the usage ledger.
  const { secret } = await admin().createKey({ keyId: "sprayer", key: { displayName: "sprayer", allowedModels: ["gpt-4o*"] } });
  const caller = gateway.client("connect", secret);
  await caller.chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] });
  for (const model of MADE_UP) await caller.chat({ model, messages: [{ role: Role.USER, content: "hi" }] }).catch(() => {});
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await fake?.close();
});

describe("the web console at its limits", () => {
  it("tells a first-time user where the master key is, and refuses a key with characters no key has before sending it", async () => {
    const page = await newPage();
    const sent: string[] = [];
    page.on("request", (request) => {
      if (ADMIN_CALL.test(request.url())) sent.push(request.url());
    });
    await page.goto(`${gateway.url}/console/`);
    expect(await page.locator("main").textContent()).toContain("master-key.generated");
    await page.getByLabel("Admin key").fill("sk-sb-ключ");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("“к” at character 7");
    expect(await alert.textContent()).not.toContain("Headers");
    expect(sent).toEqual([]);

    await page.getByLabel("Admin key").fill("sk-sb-no-such-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    const unknown = page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" });
    await unknown.waitFor();
    expect(await unknown.textContent()).toContain("The gateway does not know this key");
    expect(await unknown.textContent()).not.toContain("Authorization");
    await page.context().close();
  }, 60_000);

  it("searches every key, not the page on screen, and pages through the matches", async () => {
    const page = await signedIn(MASTER_KEY);
    await open(page, "Keys");
    await page.locator('tr[data-key="keys/filler-0"]').waitFor();
    expect(await page.locator('tr[data-key="keys/zeta-needle"]').count()).toBe(0);
    await page.getByLabel("Search").fill("NEEDLE");
    await page.locator('tr[data-key="keys/zeta-needle"]').waitFor();
    expect(await page.locator("table.keys tbody tr").count()).toBe(1);
    await page.getByLabel("Search").fill("filler");
    await expect.poll(() => page.locator("table.keys tbody tr").count()).toBe(20);
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(() => page.locator("table.keys tbody tr").count()).toBe(5);
    await page.getByLabel("Search").fill("no such key anywhere");
    await expect.poll(() => page.locator("table.keys tbody").textContent()).toContain("No key's name, id or team holds “no such key anywhere”");
    await page.context().close();
  }, 60_000);

  it("filters by a team whose name holds quotes and a backslash", async () => {
    const page = await signedIn(MASTER_KEY);
    await open(page, "Keys");
    await page.getByLabel("Team").fill(TEAM);
    await page.locator('tr[data-key="keys/lab-key"]').waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    await page.context().close();
  }, 60_000);

  it("charts the 20 most expensive models and '(other)', says how many it sums, and exports the same", async () => {
    const page = await signedIn(MASTER_KEY);
    await open(page, "Usage");
    await page.getByLabel("Group by").selectOption({ label: "Model" });
    await page.getByLabel("Show").selectOption({ label: "Requests" });
    const other = page.locator('table.usage-totals tr[data-group="(other: 6 models)"]');
    await other.waitFor();
    expect(await other.locator("td").first().textContent()).toBe("6");
    expect(await page.locator("table.usage-totals tbody tr").count()).toBe(21);
    expect(await page.getByTestId("usage-folded").textContent()).toContain("the other 6 are summed as “(other)”");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8").trim().split("\n");
    expect(csv.filter((line) => line.includes(",(other: 6 models),6,6,"))).toHaveLength(1);
    expect(csv).toHaveLength(1 + 21);
    await page.context().close();
  }, 60_000);

  it("charts a range of years by the week, and names the longest range it can chart", async () => {
    const page = await signedIn(MASTER_KEY);
    await open(page, "Usage");
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const to = await page.getByLabel("To (UTC)").inputValue();
    await page.getByLabel("From (UTC)").fill(day(Date.parse(to) - 1100 * DAY_MS));
    await page.getByRole("heading", { name: /^Requests per week|^Cost per week/ }).waitFor();
    await page.locator('main[data-fetching="false"]').waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    await page.getByLabel("From (UTC)").fill(day(Date.parse(to) - 7001 * DAY_MS));
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("at most 1,000 weeks");
    await page.context().close();
  }, 60_000);

  it("shows a BadRequest's violations once, not again in its message", async () => {
    const page = await signedIn(MASTER_KEY);
    await open(page, "Keys");
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a gateway key" });
    await dialog.getByLabel("Name").fill("bad id");
    await dialog.getByLabel("Key id").fill("Bad Id");
    await dialog.getByRole("button", { name: "Create key" }).click();
    const alert = dialog.getByRole("alert").filter({ hasText: "INVALID_ARGUMENT" });
    await alert.waitFor();
    expect((await alert.textContent())!.split("key_id: must be 3-63").length - 1).toBe(1);
    await page.context().close();
  }, 60_000);

  it("offers a read-only admin no write action, and a full admin no vendor-key action, each saying why", async () => {
    const viewer = await signedIn(viewerSecret);
    await open(viewer, "Keys");
    const create = viewer.getByRole("button", { name: "Create key" });
    await expect.poll(() => create.getAttribute("aria-disabled")).toBe("true");
    expect(await create.getAttribute("title")).toContain("read-only admin key");
    await create.click({ force: true }); // playwright takes aria-disabled for disabled: a user can still click it, and nothing opens
    expect(await viewer.getByRole("dialog").count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Revoke filler 0" }).getAttribute("aria-disabled")).toBe("true");
    await open(viewer, "Providers");
    expect(await viewer.getByRole("button", { name: "Stage a key" }).getAttribute("title")).toContain("read-only admin key");
    await viewer.context().close();

    const full = await signedIn(adminSecret);
    await open(full, "Providers");
    const stage = full.getByRole("button", { name: "Stage a key" });
    await expect.poll(() => stage.getAttribute("aria-disabled")).toBe("true");
    expect(await stage.getAttribute("title")).toContain("Only the master key");
    await open(full, "Keys");
    expect(await full.getByRole("button", { name: "Create key" }).getAttribute("aria-disabled")).toBeNull();
    await full.context().close();
  }, 60_000);

  it("is not 'live' before the feed is confirmed, and says 'the last 500' past 500 calls", async () => {
    const page = await newPage();
    let held: Route | undefined;
    await page.route("**/switchboard.v1.AdminService/WatchCalls", (route) => void (held = route), { times: 1 });
    await signIn(page, MASTER_KEY);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await expect.poll(() => held !== undefined).toBe(true);
    await page.locator('main[data-fetching="false"]').waitFor();
    expect(await page.locator(".live-dot").textContent()).toContain("connecting");
    // The held stream answers: a confirmation, then 501 calls, then its end; the feed reconnects to the gateway itself.
    const calls = Array.from({ length: 501 }, (_, i) => ({ call: { requestId: `made-up-${i}`, status: "ok", method: "switchboard.v1.AIService/Chat" } }));
    await held!.fulfill({ status: 200, headers: { "content-type": "application/connect+json" }, body: connectStream([{}, ...calls]) });
    await open(page, "Live calls");
    await expect.poll(() => page.locator("p.note").first().textContent()).toContain("of the last 500 calls (501 since sign-in)");
    await expect.poll(() => page.locator(".live-dot").textContent()).toContain("live");
    await page.context().close();
  }, 60_000);

  it("forgets a key revoked while signed in, and the sign-in page says why", async () => {
    const { secret } = await admin().createKey({ keyId: "soon-revoked", key: { displayName: "soon revoked", admin: true } });
    const page = await signedIn(secret);
    await expect.poll(() => page.locator(".live-dot").textContent()).toContain("live");
    await admin().revokeKey({ name: "keys/soon-revoked" });
    const alert = page.getByRole("alert").filter({ hasText: "KEY_REVOKED" });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toContain("This key was revoked");
    await page.getByLabel("Admin key").waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.context().close();
  }, 60_000);
});
