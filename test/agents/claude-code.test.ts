// Claude Code itself (npm @anthropic-ai/claude-code, pinned), offline, with
// ANTHROPIC_BASE_URL set to the gateway and a gateway key as its token, and
// the model it asks for served by a fake OpenAI-compatible vendor: it prints
// the vendor's text, and completes a tool round trip (the vendor asks for a
// Read of a file the test made, then answers with what Claude Code read).
// On its default model, as the README runs it, it is served by a fake
// Anthropic, and sends a system message mid-conversation.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { agentWorkspace, installed, lastUserText, runAgent, SECRET, usageOnSurface } from "./support/run-agent.js";

/**
 * The model the pinned Claude Code (2.1.332) asks for when not told one. It
 * sends its environment as a system message right after the user's turn
 * (https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages).
 */
const DEFAULT_MODEL = "claude-opus-5-5";

let dir: string;
let fake: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;

beforeAll(async () => {
  dir = agentWorkspace("claude-code-");
  // The model asks for a Read of notes.txt when the user asks about it; otherwise it answers in words.
  fake = await startOpenAIFake({
    apiKey: "sk-openai-vendor",
    toolCall: (body) => (lastUserText(body).includes("notes.txt") && body.tools.some((t: any) => t.function.name === "Read") ? { name: "Read", arguments: JSON.stringify({ file_path: join(dir, "notes.txt") }) } : undefined),
  });
  // Claude itself, for Claude Code's default model: it answers in words.
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor", models: [DEFAULT_MODEL], toolCall: () => undefined });
  // Claude Code asks for its own model ids: its default one goes to Anthropic, a route serves every other Claude model with the OpenAI vendor's.
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: "sk-ant-vendor", ANTHROPIC_BASE_URL: anthropic.baseUrl },
    {
      routes: [
        { model: DEFAULT_MODEL, provider: "anthropic" },
        { model: "claude-*", provider: "openai", upstream_model: "gpt-4o-mini" },
      ],
      ledger: { flush_interval_ms: 50 },
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await anthropic?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `claude -p PROMPT` through the gateway: the launcher npm ships (it finds the native binary even when npm held the postinstall back); on its default model unless given one. */
function claude(prompt: string, model?: string) {
  return runAgent(process.execPath, [installed("@anthropic-ai/claude-code/cli-wrapper.cjs"), "-p", prompt, ...(model ? ["--model", model] : [])], {
    cwd: dir,
    env: {
      HOME: dir,
      ANTHROPIC_BASE_URL: gw.url,
      ANTHROPIC_AUTH_TOKEN: MASTER_KEY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
    },
  });
}

describe("Claude Code through the gateway, served by an OpenAI-compatible vendor and by Claude", () => {
  it("prints the text the vendor produced", async () => {
    const before = fake.chatRequests().length;
    const run = await claude("say hello to the gateway", "claude-sonnet-4-5");
    expect(run.code, run.stderr).toBe(0);
    const asked = fake.chatRequests().slice(before);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    const turn = asked.find((body) => lastUserText(body).includes("say hello to the gateway"))!;
    // It came in as Anthropic Messages, with Claude Code's tools, and went to the vendor as Chat Completions.
    expect(turn.model).toBe("gpt-4o-mini");
    expect(turn.tools.map((t: any) => t.function.name)).toContain("Read");
    expect(run.stdout.trim()).toBe(`Echo: ${lastUserText(turn)}`.trim());
  }, 60_000);

  it("completes a tool round trip: the vendor's Read of a file, then its answer with what Claude Code read", async () => {
    const before = fake.chatRequests().length;
    const run = await claude("what does notes.txt say?", "claude-sonnet-4-5");
    expect(run.code, run.stderr).toBe(0);
    const asked = fake.chatRequests().slice(before);
    const call = fake.toolCallsMade.at(-1)!;
    expect(call).toMatchObject({ name: "Read", arguments: JSON.stringify({ file_path: join(dir, "notes.txt") }) });
    // The next turn answers that very call with the file's contents, as Claude Code's Read tool gives them.
    const answered = asked.find((body) => body.messages.at(-1).role === "tool")!;
    const result = answered.messages.at(-1);
    expect(result.tool_call_id).toBe(call.id);
    expect(JSON.stringify(result.content)).toContain(SECRET);
    expect(run.stdout).toContain("Tool result:");
    expect(run.stdout).toContain(SECRET);
  }, 60_000);

  it("runs on its default model, as the README shows it: its mid-conversation system message reaches Claude where Claude Code put it", async () => {
    const run = await claude("say hello on the default model");
    // It prints a refused call ("API Error: 400 …") on stdout.
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const turn = anthropic.messageRequests().find((body) => JSON.stringify(body.messages).includes("say hello on the default model"))!;
    expect(turn.model).toBe(DEFAULT_MODEL);
    const roles = turn.messages.map((m: { role: string }) => m.role);
    expect(roles.indexOf("system"), JSON.stringify(roles)).toBeGreaterThan(0);
    expect(roles[roles.indexOf("system") - 1]).toBe("user");
    expect(run.stdout).toContain("Echo:");
    expect(run.stdout).toContain("say hello on the default model");
  }, 60_000);

  it("leaves one ledger row per call, on the surface anthropic_messages", async () => {
    const usage = await usageOnSurface(gw, "anthropic_messages");
    // At least: one call for the greeting, two for the round trip, one on the default model.
    expect(usage.total.requests).toBeGreaterThanOrEqual(4);
    expect(usage.total.requests).toBe(fake.chatRequests().length + anthropic.messageRequests().length);
    expect(usage.rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ surface: "anthropic_messages", provider: "openai", errors: 0 }),
        expect.objectContaining({ surface: "anthropic_messages", provider: "anthropic", errors: 0 }),
      ]),
    );
    expect(usage.rows).toHaveLength(2);
  });
});
