import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { ROOT } from "../clients/support/client-harness.js";
import { launchChromium } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// The web console in a real browser (Debian's Chromium, driven by
// playwright-core as test/clients/browser.test.ts does), served by a real
// gateway in front of the OpenAI fake: sign in, create a key with a budget
// and a scope, use it in the playground and find the call in the live tail
// and the usage chart, stage and promote a vendor key, revoke the key and see
// it refused. Every page is screenshotted at 1280 and 390 pixels (under
// test-artifacts/console/) and checked with axe-core.
const ARTIFACTS = join(ROOT, "test-artifacts/console");
/** SWITCHBOARD_UPDATE_DOCS_IMAGES=1 also writes the README's screenshots (docs/images/console-*.png). */
const DOCS_IMAGES = process.env.SWITCHBOARD_UPDATE_DOCS_IMAGES === "1" ? join(ROOT, "docs/images") : undefined;
const WIDTHS = [
  { width: 1280, height: 860 },
  { width: 390, height: 844 },
];
const PAGES = [
  { path: "", title: "Overview", docs: "console-overview.png" },
  { path: "keys", title: "Keys", docs: "console-keys.png" },
  { path: "providers", title: "Providers", docs: "console-providers.png" },
  { path: "usage", title: "Usage" },
  { path: "calls", title: "Live calls" },
  { path: "playground", title: "Playground" },
];
/** Page-side expressions as strings: the test is compiled without the DOM's types. */
const FOCUSED_TEXT = "document.activeElement?.textContent";
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let fake: OpenAIFake;
let gateway: TestGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** What the main page logged as errors: none is expected until a test asks for a refusal. */
const consoleErrors: string[] = [];
let newKeySecret = "";

function admin(key = MASTER_KEY) {
  return createClient(AdminService, gateway.transport("connect", key));
}

function watchErrors(target: Page, into: string[]): void {
  target.on("console", (message) => {
    if (message.type() === "error") into.push(message.text());
  });
  target.on("pageerror", (err) => into.push(`uncaught: ${err.message}`));
}

async function signIn(target: Page, key: string): Promise<void> {
  await target.goto(`${gateway.url}/console/`);
  await target.getByLabel("Admin key").fill(key);
  await target.getByRole("button", { name: "Sign in" }).click();
}

async function open(target: Page, title: string): Promise<void> {
  await target.getByRole("navigation", { name: "Console" }).getByRole("link", { name: title, exact: true }).click();
  await target.getByRole("heading", { level: 1, name: title }).waitFor();
}

beforeAll(async () => {
  // The console as npm start serves it: built by the same step, skipped when web/ is unchanged.
  const build = spawnSync(process.execPath, [join(ROOT, "scripts/ensure-build.mjs"), "--only=console"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  fake = await startOpenAIFake({ apiKey: "sk-up", extraKeys: ["sk-up-next"], chunkDelayMs: 2 });
  gateway = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_NEXT: "sk-up-next" });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: WIDTHS[0] });
  page = await context.newPage();
  watchErrors(page, consoleErrors);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await fake?.close();
});

describe("the web console in a real browser", () => {
  it("signs in with the master key, kept in sessionStorage only, and loads within a second on loopback", async () => {
    await signIn(page, MASTER_KEY);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    const storage = await page.evaluate("({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie })");
    expect(storage).toEqual({ session: 1, local: 0, cookie: "" });
    expect(await context.cookies()).toEqual([]);
    // How long a load takes, recorded (not asserted: wall-clock time depends on the machine).
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    const timing = await page.evaluate(`(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd), loadMs: Math.round(nav.loadEventEnd), headingMs: Math.round(performance.now()) };
    })()`);
    writeFileSync(join(ARTIFACTS, "load-timing.json"), `${JSON.stringify(timing, null, 2)}\n`);
    console.log(`console load on loopback: ${JSON.stringify(timing)}`);
  }, 60_000);

  it("creates a key with a budget and a scope, and shows its secret once", async () => {
    await open(page, "Keys");
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a gateway key" });
    await dialog.getByLabel("Name").fill("playground key");
    await dialog.getByLabel("Key id").fill("pg-key");
    await dialog.getByLabel("Team").fill("web");
    await dialog.getByLabel("Allowed models").fill("gpt-4o-mini");
    await dialog.getByLabel("Limit (USD)").fill("5");
    await dialog.getByLabel("Soft threshold (%)").fill("80");
    await dialog.getByRole("button", { name: "Add a mapping" }).click();
    await dialog.getByLabel("Requested model 1").fill("gpt-4o");
    await dialog.getByLabel("Economy model 1").fill("gpt-4o-mini");
    await dialog.getByRole("button", { name: "Create key" }).click();

    const shown = page.getByRole("dialog", { name: /Key created/ });
    newKeySecret = (await shown.getByTestId("new-key-secret").textContent())?.trim() ?? "";
    expect(newKeySecret).toMatch(/^sk-sb-/);
    await shown.getByRole("button", { name: "Done" }).click();

    const row = page.locator('tr[data-key="keys/pg-key"]');
    await expect.poll(() => row.textContent()).toContain("gpt-4o-mini");
    await row.getByRole("meter").waitFor();
    expect(await row.getByRole("meter").getAttribute("aria-valuemax")).toBe("5");
    // The gateway has it as the form said; the secret is in no listing.
    const { key } = await admin().getKey({ name: "keys/pg-key" });
    expect(key?.allowedModels).toEqual(["gpt-4o-mini"]);
    expect(key?.budget?.softThreshold).toBeCloseTo(0.8);
    expect(key?.economyModels).toMatchObject([{ model: "gpt-4o", economyModel: "gpt-4o-mini" }]);
    expect(await page.content()).not.toContain(newKeySecret);

    // An edit sends only what changed (a field mask): the team, not the budget or the scope.
    await row.getByRole("button", { name: "Edit playground key" }).click();
    const edit = page.getByRole("dialog", { name: "Edit playground key" });
    await edit.getByLabel("Team").fill("web-2");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await edit.waitFor({ state: "hidden" });
    const edited = (await admin().getKey({ name: "keys/pg-key" })).key;
    expect(edited?.team).toBe("web-2");
    expect(edited?.allowedModels).toEqual(["gpt-4o-mini"]);
    expect(edited?.budget?.limit?.units).toBe(5n);
  }, 60_000);

  it("uses the new key in the playground, and finds the call in the live tail and the usage chart", async () => {
    await open(page, "Playground");
    // Pick, with the console's key (which lists every model), one the new key may not use.
    await page.getByLabel("Model").locator('option[value="gpt-4o"]').waitFor({ state: "attached" });
    await page.getByLabel("Model").selectOption("gpt-4o");
    expect(await page.getByLabel("Model").inputValue()).toBe("gpt-4o");
    await page.getByLabel("Another gateway key").check();
    await page.getByLabel("Gateway key", { exact: true }).fill(newKeySecret);
    // The new key's first model takes its place: the call goes to the model the list shows.
    await expect.poll(() => page.getByLabel("Model").inputValue()).toBe("gpt-4o-mini");
    await page.getByLabel("Message").fill("hello from the console");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => page.getByTestId("playground-answer").textContent()).toBe("Echo: hello from the console");
    await expect.poll(() => page.getByTestId("playground-cost").textContent()).toMatch(/^\$0\.\d+$/);
    await expect.poll(() => page.getByRole("region", { name: "Attempts" }).textContent()).toContain("ok");

    await open(page, "Live calls");
    const call = page.locator("table.calls tbody tr", { hasText: "pg-key" });
    await call.first().waitFor();
    const text = await call.first().textContent();
    expect(text).toContain("gpt-4o-mini");
    expect(text).toContain("openai");
    expect(text).toContain("ok");
    expect(text).not.toContain("hello from the console");

    await open(page, "Usage");
    await page.getByLabel("Group by").selectOption({ label: "Key" });
    await page.getByLabel("Show").selectOption({ label: "Requests" });
    await page.locator('table.usage-totals tr[data-group="keys/pg-key"]').waitFor();
    expect(await page.locator('table.usage-totals tr[data-group="keys/pg-key"] td').first().textContent()).toBe("1");
    expect(await page.locator('.chart rect[data-series="keys/pg-key"]').getAttribute("data-value")).toBe("1");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8").trim().split("\n");
    expect(csv[0]).toBe("bucket_start,key,requests,errors,prompt_tokens,completion_tokens,cost_usd,mean_latency_ms");
    expect(csv.find((line) => line.includes(",keys/pg-key,"))).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,keys\/pg-key,1,0,\d+,\d+,0\.\d{9},\d+$/);
  }, 60_000);

  it("stages a vendor key and promotes it, each after a confirmation", async () => {
    await open(page, "Providers");
    const openai = page.locator('section[data-provider="openai"]');
    await openai.getByRole("button", { name: "Stage a key" }).click();
    const stage = page.getByRole("dialog", { name: "Stage a key for openai" });
    await stage.getByLabel("Key id").fill("next");
    await stage.getByLabel("Secret reference").fill("env:OPENAI_API_KEY_NEXT");
    await stage.getByRole("button", { name: "Stage as canary" }).click();
    const next = openai.locator('tr[data-credential="next"]');
    await expect.poll(() => next.textContent()).toContain("canary");
    expect(await openai.textContent()).not.toContain("sk-up");

    await next.getByRole("button", { name: "Promote next" }).click();
    const confirm = page.getByRole("dialog", { name: "Promote this canary?" });
    await confirm.getByRole("button", { name: "Promote" }).click();
    await expect.poll(() => next.locator("td .badge").first().textContent()).toBe("active");
    const { providers } = await admin().listProviders({});
    const states = providers.find((p) => p.name === "providers/openai")!.credentials.map((c) => [c.name.split("/").pop(), c.state]);
    expect(states).toContainEqual(["next", 1]);
  }, 60_000);

  it("shows every page at 1280 and 390 pixels without a serious accessibility violation or a console error", async () => {
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      for (const target of PAGES) {
        await open(page, target.title);
        // Live figures settle: no query of the page in flight (the WatchCalls stream stays open, so never "network idle").
        await page.locator('main[data-fetching="false"]').waitFor();
        const file = `${target.path || "overview"}-${size.width}.png`;
        const shot = await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
        if (DOCS_IMAGES && size.width === 1280 && target.docs) writeFileSync(join(DOCS_IMAGES, target.docs), shot);
        await page.evaluate(AXE_SOURCE);
        const violations = await page.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
          const result = await axe.run();
          return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
        });
        writeFileSync(join(ARTIFACTS, `${target.path || "overview"}-${size.width}.axe.json`), `${JSON.stringify(violations, null, 2)}\n`);
        expect({ page: target.title, width: size.width, serious: violations.filter((v) => v.impact === "serious" || v.impact === "critical") }).toEqual({
          page: target.title,
          width: size.width,
          serious: [],
        });
        // Nothing sticks out sideways at a phone's width: wide tables scroll in their own box.
        const overflow = await page.evaluate<{ scrollWidth: number; innerWidth: number }>("({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })");
        expect({ page: target.title, fits: overflow.scrollWidth <= overflow.innerWidth, ...overflow }).toMatchObject({ page: target.title, fits: true });
      }
    }
    await page.setViewportSize(WIDTHS[0]!);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it("is keyboard navigable: the skip link, the pages' links and a dialog that Escape closes", async () => {
    // A page loaded afresh: focus starts at its top.
    await page.goto(`${gateway.url}/console/keys`);
    await page.getByRole("heading", { level: 1, name: "Keys" }).waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(FOCUSED_TEXT)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(FOCUSED_TEXT)).toBe("Overview");
    await page.getByRole("button", { name: "Create key" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog", { name: "Create a gateway key" }).waitFor();
    expect(await page.evaluate('document.activeElement?.closest("dialog") !== null')).toBe(true);
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "hidden" });
  }, 60_000);

  it("revokes the key after a confirmation, and the playground then shows the refusal in words", async () => {
    await open(page, "Keys");
    await page.getByRole("button", { name: "Revoke playground key" }).click();
    await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
    await page.getByRole("dialog").waitFor({ state: "hidden" });
    expect((await admin().getKey({ name: "keys/pg-key" })).key?.revokeTime).toBeDefined();

    await open(page, "Playground");
    await page.getByLabel("Another gateway key").check();
    await page.getByLabel("Gateway key", { exact: true }).fill(newKeySecret);
    const refusal = page.getByRole("alert").filter({ hasText: "KEY_REVOKED" });
    await refusal.first().waitFor();
    expect(await refusal.first().textContent()).toContain("This key was revoked");
  }, 60_000);

  it("signs out: the key leaves sessionStorage and the sign-in page is back", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin key").waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.reload();
    await page.getByLabel("Admin key").waitFor();
  }, 60_000);

  it("refuses a key without the admin scope, in words, and keeps nothing", async () => {
    const { secret } = await admin().createKey({ key: { displayName: "no admin" } });
    const other = await context.newPage();
    await signIn(other, secret);
    const alert = other.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("ADMIN_SCOPE_REQUIRED");
    expect(await alert.textContent()).toContain("no admin scope");
    expect(await other.evaluate("sessionStorage.length")).toBe(0);
    await other.close();
  }, 60_000);

  it("lets a read-only admin key look but not change, saying why on the buttons it may not use", async () => {
    const { secret } = await admin().createKey({ key: { displayName: "viewer", admin: true, adminReadOnly: true } });
    const viewer = await context.newPage();
    await signIn(viewer, secret);
    await viewer.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await open(viewer, "Keys");
    await viewer.locator('tr[data-key="keys/pg-key"]').waitFor({ state: "detached" }); // active keys only: pg-key is revoked
    const create = viewer.getByRole("button", { name: "Create key" });
    await expect.poll(() => create.getAttribute("aria-disabled")).toBe("true");
    expect(await create.getAttribute("title")).toContain("read-only admin key");
    await create.click({ force: true }); // playwright takes aria-disabled for disabled: a user can still click it, and nothing opens
    expect(await viewer.getByRole("dialog").count()).toBe(0);
    await viewer.close();
  }, 60_000);
});
