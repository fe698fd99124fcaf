import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { openPage, serveBrowserApp, type BrowserApp } from "../support/chromium.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

// A real browser (Debian's Chromium) loads a page from one origin and calls the
// gateway on another with Connect-Web: the CORS preflight, the Connect protocol
// over fetch, and a server stream, as a web app would.

let fake: OpenAIFake;
let allowed: TestGateway;
let other: TestGateway;
let site: BrowserApp;
let origin: string;
let browser: Browser;
let page: Page;


beforeAll(async () => {
  site = await serveBrowserApp('import { connectFromBrowser, streamInto } from "./examples/typescript/browser.ts"; Object.assign(window, { connectFromBrowser, streamInto });', "ts", "console");
  origin = site.origin;
  fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 5 });
  allowed = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { cors_origins: [origin] } });
  other = await startGateway({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }, { server: { cors_origins: ["https://console.example.com"] } });
  // Playwright gives the browser a fresh, empty profile of its own.
  ({ browser, page } = await openPage(origin));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await allowed?.stop();
  await other?.stop();
  await fake?.close();
  await site?.close();
});

interface BrowserWindow {
  connectFromBrowser(baseUrl: string, key: string): { chat(req: unknown): Promise<{ message?: { content: string } }> };
  streamInto(client: unknown, question: string, onText: (text: string) => void): Promise<void>;
}

describe("Connect-Web in a real browser, from another origin", () => {
  it("streams an answer through the CORS preflight", async () => {
    const text = await page.evaluate(
      async ({ baseUrl, key }) => {
        const w = globalThis as unknown as BrowserWindow;
        let out = "";
        await w.streamInto(w.connectFromBrowser(baseUrl, key), "hello from the browser", (piece) => (out += piece));
        return out;
      },
      { baseUrl: allowed.url, key: MASTER_KEY },
    );
    expect(text).toBe("Echo: hello from the browser");
  });

  it("reads the request id the gateway exposes, and gets Unauthenticated without a key", async () => {
    const result = await page.evaluate(async (baseUrl) => {
      const res = await fetch(`${baseUrl}/switchboard.v1.AIService/ListModels`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      return { status: res.status, requestId: res.headers.get("x-request-id"), body: (await res.json()) as { code: string } };
    }, allowed.url);
    expect(result.status).toBe(401);
    expect(result.body.code).toBe("unauthenticated");
    expect(result.requestId).toMatch(/.+/);
  });

  it("is refused by a gateway that does not list the page's origin, before any vendor call", async () => {
    const before = fake.requests.length;
    const outcome = await page.evaluate(
      async ({ baseUrl, key }) => {
        const w = globalThis as unknown as BrowserWindow;
        try {
          await w.connectFromBrowser(baseUrl, key).chat({ model: "gpt-4o-mini", messages: [{ role: 2, content: "hi" }] });
          return "answered";
        } catch (err) {
          return String(err);
        }
      },
      { baseUrl: other.url, key: MASTER_KEY },
    );
    expect(outcome).not.toBe("answered");
    expect(fake.requests.length).toBe(before);
  });
});
