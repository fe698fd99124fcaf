// Codex itself (npm @openai/codex, pinned), offline: `codex exec` with a model
// provider whose base URL is the gateway and `wire_api = "responses"`, under
// a fresh CODEX_HOME, the model it asks for served by a fake
// OpenAI-compatible vendor. It prints the vendor's text, and completes a tool
// round trip (the vendor asks to run `cat notes.txt`, then answers with what
// Codex ran).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { agentWorkspace, installed, lastUserText, runAgent, SECRET, usageOnSurface } from "./support/run-agent.js";

let dir: string;
let fake: OpenAIFake;
let gw: TestGateway;

beforeAll(async () => {
  dir = agentWorkspace("codex-");
  fake = await startOpenAIFake({
    apiKey: "sk-openai-vendor",
    toolCall: (body) => (lastUserText(body).includes("notes.txt") ? { name: "exec_command", arguments: JSON.stringify({ cmd: "cat notes.txt" }) } : undefined),
  });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: fake.baseUrl },
    { routes: [{ model: "gpt-5-codex", provider: "openai", upstream_model: "gpt-4o-mini" }], ledger: { flush_interval_ms: 50 } },
  );
  const home = join(dir, "codex-home");
  mkdirSync(home);
  // Codex's hosted web search and its sub-agent and goal tools are off: the gateway runs function tools only, and refuses the rest by name.
  writeFileSync(
    join(home, "config.toml"),
    `model = "gpt-5-codex"
model_provider = "switchboard"
web_search = "disabled"

[features]
goals = false

[agents]
enabled = false

[model_providers.switchboard]
name = "Switchboard"
base_url = "${gw.url}/v1"
env_key = "SWITCHBOARD_KEY"
wire_api = "responses"
`,
  );
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function codex(prompt: string) {
  return runAgent(installed("@openai/codex/bin/codex.js"), ["exec", "--skip-git-repo-check", "--sandbox", "read-only", prompt], {
    cwd: dir,
    env: { HOME: dir, CODEX_HOME: join(dir, "codex-home"), SWITCHBOARD_KEY: MASTER_KEY },
  });
}

describe("Codex through the gateway's Responses API, served by an OpenAI-compatible vendor", () => {
  it("prints the text the vendor produced", async () => {
    const run = await codex("say hello to the gateway");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("Echo: say hello to the gateway");
    const turn = fake.chatRequests().at(-1)!;
    expect(turn.model).toBe("gpt-4o-mini");
    expect(turn.tools.map((t: any) => t.function.name)).toContain("exec_command");
  }, 60_000);

  it("completes a tool round trip: the vendor's command, then its answer with what Codex ran", async () => {
    const run = await codex("what does notes.txt say?");
    expect(run.code, run.stderr).toBe(0);
    const call = fake.toolCallsMade.at(-1)!;
    expect(call.name).toBe("exec_command");
    const result = fake.chatRequests().at(-1)!.messages.at(-1);
    expect(result).toMatchObject({ role: "tool", tool_call_id: call.id });
    expect(result.content).toContain(SECRET);
    expect(run.stdout).toContain("Tool result:");
    expect(run.stdout).toContain(SECRET);
  }, 60_000);

  it("leaves one ledger row per call, on the surface openai_responses", async () => {
    const usage = await usageOnSurface(gw, "openai_responses");
    expect(usage.total.requests).toBe(fake.chatRequests().length);
    expect(usage.total.requests).toBeGreaterThanOrEqual(3);
    expect(usage.rows).toEqual([expect.objectContaining({ surface: "openai_responses", provider: "openai", errors: 0 })]);
  });
});
