// The worked examples of docs/agents.md (Claude Code served by Qwen, and by
// ERNIE) route Claude Code's model ids as the page says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema } from "../../src/config/schema.js";
import { Router } from "../../src/gateway/router.js";
import { ROOT } from "./support/run-agent.js";

const DOC = readFileSync(join(ROOT, "docs/agents.md"), "utf8");
const EXAMPLES = new Map([...DOC.matchAll(/<!-- config: (.+?) -->\s*\n```yaml\n([\s\S]*?)\n```/g)].map((m) => [m[1]!, m[2]!]));

function router(example: string): Router {
  const yaml = EXAMPLES.get(example);
  expect(yaml, `docs/agents.md has no example "${example}"`).toBeDefined();
  const config = buildConfig(fileSchema.parse(parse(yaml!)), { DASHSCOPE_API_KEY: "sk-ds", QIANFAN_API_KEY: "sk-qf", SWITCHBOARD_MASTER_KEY: "sk-m" }, "docs/agents.md");
  return new Router(config.routes, new Set(config.providers.map((p) => p.name)));
}

describe("the worked examples of docs/agents.md", () => {
  it("serve Claude Code's main and small models with Qwen", () => {
    const qwen = router("claude code on qwen");
    expect(qwen.resolve("claude-sonnet-4-5")).toEqual([{ provider: "dashscope", upstreamModel: "qwen-max" }]);
    expect(qwen.resolve("claude-opus-4-1")).toEqual([{ provider: "dashscope", upstreamModel: "qwen-max" }]);
    expect(qwen.resolve("claude-haiku-4-5")).toEqual([{ provider: "dashscope", upstreamModel: "qwen-turbo" }]);
  });

  it("serve them with ERNIE, falling back to Qwen", () => {
    const ernie = router("claude code on ernie");
    expect(ernie.resolve("claude-sonnet-4-5")).toEqual([
      { provider: "qianfan", upstreamModel: "ernie-4.5-turbo-128k" },
      { provider: "dashscope", upstreamModel: "qwen-max" },
    ]);
    expect(ernie.resolve("claude-haiku-4-5")).toEqual([{ provider: "qianfan", upstreamModel: "ernie-speed-128k" }]);
  });
});
