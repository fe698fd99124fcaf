import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium, which scripts/install-test-deps.sh installs. */
const CHROMIUM = "/usr/bin/chromium";
/** Headless, and quiet: no network of its own beyond what the page asks for. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A headless Chromium for the browser tests; fails (never skips) when it is not installed. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`bash scripts/install-test-deps.sh\` (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
