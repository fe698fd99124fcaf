// A route's fallback that no route serves (a typo: `gtp-4o-mini`) was dropped by every call without a
// word, and nothing at start said the failover written in the config would never happen. The start-up
// log now names each such fallback with its route and field; one whose provider is not configured (as
// documented, skipped) gets an info line. The start is not refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSwitchboard, type Switchboard } from "../../src/app.js";
import { buildConfig } from "../../src/config/load-config.js";
import type { ConfigFile } from "../../src/config/schema.js";
import { Router } from "../../src/gateway/router.js";
import { LogCapture, MASTER_KEY } from "../support/gateway.js";

const FILE: ConfigFile = {
  routes: [
    { model: "gpt-4o", provider: "openai", fallbacks: ["gtp-4o-mini", "qwen-max", "openai/gpt-4o-mini", "gpt-4o-mini", "nosuch/model", "ollama/llama3.1"] },
    { model: "fast", provider: "openai", upstream_model: "gpt-4o-mini", fallbacks: ["gpt-4.1-mini"] },
  ],
};
const ENV = { SWITCHBOARD_MASTER_KEY: MASTER_KEY, OPENAI_API_KEY: "sk-fallback-test-0123456789" };

describe("route fallbacks no call can reach", () => {
  it("are the names no route or configured provider serves, and those routed to an unconfigured provider", () => {
    const config = buildConfig(FILE, { ...ENV, PORT: "0", HOST: "127.0.0.1" }, "test");
    const router = new Router(config.routes, new Set(config.providers.map((provider) => provider.name)));
    expect(router.unservedFallbacks()).toEqual([
      { field: "routes[0].fallbacks[0]", route: "gpt-4o", fallback: "gtp-4o-mini", unconfiguredProvider: undefined },
      { field: "routes[0].fallbacks[1]", route: "gpt-4o", fallback: "qwen-max", unconfiguredProvider: "dashscope" },
      { field: "routes[0].fallbacks[4]", route: "gpt-4o", fallback: "nosuch/model", unconfiguredProvider: undefined },
      { field: "routes[0].fallbacks[5]", route: "gpt-4o", fallback: "ollama/llama3.1", unconfiguredProvider: "ollama" },
    ]);
    // Calls skip them as before.
    expect(router.resolve("gpt-4o")).toEqual([
      { provider: "openai", upstreamModel: "gpt-4o" },
      { provider: "openai", upstreamModel: "gpt-4o-mini" },
    ]);
  });

  describe("at start", () => {
    let app: Switchboard | undefined;
    let dataDir: string | undefined;
    afterEach(async () => {
      await app?.shutdown();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it("a misspelt one is warned of, naming the route, the fallback and its field; the gateway starts", async () => {
      dataDir = mkdtempSync(join(tmpdir(), "switchboard-fallbacks-"));
      const config = buildConfig(FILE, { ...ENV, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dataDir }, "test");
      const logs = new LogCapture();
      app = await createSwitchboard(config, { env: ENV, logDestination: logs, defaultMetrics: false });
      const said = logs.entries.filter((line) => line.fallback !== undefined);
      const typo = said.find((line) => line.fallback === "gtp-4o-mini");
      expect(typo).toMatchObject({ level: "warn", route: "gpt-4o", field: "routes[0].fallbacks[0]" });
      expect(typo?.msg).toContain('route "gpt-4o" falls back to "gtp-4o-mini" (routes[0].fallbacks[0]), which no route or provider serves');
      expect(typo?.msg).toContain("starts anyway");
      const unconfigured = said.find((line) => line.fallback === "qwen-max");
      expect(unconfigured).toMatchObject({ level: "info", provider: "dashscope" });
      expect(unconfigured?.msg).toContain("set DASHSCOPE_API_KEY");
      expect(said.map((line) => line.fallback).sort()).toEqual(["gtp-4o-mini", "nosuch/model", "ollama/llama3.1", "qwen-max"]);
    });
  });
});
