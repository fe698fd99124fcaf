import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";

/** The checkout, where a page's imports resolve. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Debian's Chromium, which scripts/install-test-deps.sh installs. */
const CHROMIUM = "/usr/bin/chromium";
/** Headless, and quiet: no network of its own beyond what the page asks for. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A headless Chromium for the browser tests; fails (never skips) when it is not installed. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`bash scripts/install-test-deps.sh\` (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** A headless Chromium (as `launchChromium`) with one page open at `origin`: a web app as its user sees it. */
export async function openPage(origin: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    return { browser, page };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** A web app's own origin: a page that loads `source` (bundled for the browser from the checkout's packages). */
export interface BrowserApp {
  readonly origin: string;
  close(): Promise<void>;
}

/** Bundles `source` (JavaScript or TypeScript, importing from the checkout) and serves it under a page of its own on loopback. */
export async function serveBrowserApp(source: string, loader: "js" | "ts", title: string): Promise<BrowserApp> {
  const bundle = await build({ stdin: { contents: source, resolveDir: ROOT, loader }, bundle: true, format: "iife", platform: "browser", write: false });
  const script = bundle.outputFiles[0]!.text;
  const site = createServer((req, res) => {
    if (req.url === "/app.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${title}</title><script src="/app.js"></script>`);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(site.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => site.close(() => resolve())),
  };
}
