import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand, requireTool, run, startClientHarness, TOOLS_BIN, type ClientHarness } from "./support/client-harness.js";

// What an operator types, exactly as docs/clients.md shows it ("Operate it with
// grpcurl"); the test runs each command in bash against a live gateway, with the
// real address in place of localhost:8080.
const COMMANDS = {
  list: String.raw`grpcurl -plaintext localhost:8080 list`,
  describe: String.raw`grpcurl -plaintext localhost:8080 describe switchboard.v1.AIService`,
  health: String.raw`grpcurl -plaintext -d '{"service": "switchboard.v1.AIService"}' localhost:8080 grpc.health.v1.Health/Check`,
  chat: String.raw`grpcurl -plaintext -H "authorization: Bearer $SWITCHBOARD_KEY" \
  -d '{"model": "gpt-4o-mini", "messages": [{"role": "ROLE_USER", "content": "hello"}]}' \
  localhost:8080 switchboard.v1.AIService/Chat`,
};

let harness: ClientHarness;
beforeAll(async () => {
  harness = await startClientHarness();
});
afterAll(async () => {
  await harness?.stop();
});

function grpcurl(command: string, env: Record<string, string> = {}) {
  requireTool(join(TOOLS_BIN, "grpcurl"), "grpcurl", "bash scripts/install-grpcurl.sh");
  return run(requireCommand("bash", "Install bash."), ["-c", command.replaceAll("localhost:8080", harness.addr)], {
    env: { PATH: `${TOOLS_BIN}:${process.env.PATH}`, SWITCHBOARD_KEY: harness.env.SWITCHBOARD_KEY, ...env },
    timeoutMs: 30_000,
  });
}

/**
 * The ErrorInfo among the details grpcurl printed: it resolves each detail's
 * type through reflection, and without it prints `"@error": "… is not recognized"`.
 */
function errorInfo(output: string): Record<string, unknown> | undefined {
  expect(output).not.toContain("is not recognized");
  const details = [...output.matchAll(/^\s*\d+\)\s+(\{[\s\S]*?^\s*\})$/gm)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);
  return details.find((detail) => detail["@type"] === "type.googleapis.com/google.rpc.ErrorInfo");
}

describe("grpcurl against the gateway (server reflection, no .proto files)", () => {
  it("lists the services", async () => {
    const result = await grpcurl(COMMANDS.list);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining(["switchboard.v1.AIService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]),
    );
  });

  it("describes AIService", async () => {
    const result = await grpcurl(COMMANDS.describe);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("switchboard.v1.AIService is a service:");
    expect(result.stdout).toContain("rpc Chat ( .switchboard.v1.ChatRequest ) returns ( .switchboard.v1.ChatResponse );");
    expect(result.stdout).toContain("rpc ChatStream ( .switchboard.v1.ChatStreamRequest ) returns ( stream .switchboard.v1.ChatStreamResponse );");
    expect(result.stdout).toContain("rpc ListModels ( .switchboard.v1.ListModelsRequest ) returns ( .switchboard.v1.ListModelsResponse );");
  });

  it("checks health without a key", async () => {
    const result = await grpcurl(COMMANDS.health);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
  });

  it("calls AIService/Chat with a gateway key", async () => {
    const result = await grpcurl(COMMANDS.chat);
    expect(result.code, result.output).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer.message).toEqual({ role: "ROLE_ASSISTANT", content: "Echo: hello" });
    expect(answer.finishReason).toBe("FINISH_REASON_STOP");
    expect(answer.provider).toBe("openai");
  });

  it("is refused AIService/Chat with a wrong key, and prints the error's ErrorInfo reason", async () => {
    const result = await grpcurl(COMMANDS.chat, { SWITCHBOARD_KEY: "sk-not-a-gateway-key" });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("Code: Unauthenticated");
    expect(errorInfo(result.output)).toMatchObject({ reason: "UNAUTHENTICATED", domain: "switchboard.dev" });
  });

  it("prints MODEL_NOT_FOUND for a model no route serves", async () => {
    const result = await grpcurl(COMMANDS.chat.replace('"gpt-4o-mini"', '"no-such-model"'));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("Code: NotFound");
    expect(errorInfo(result.output)).toMatchObject({ reason: "MODEL_NOT_FOUND", metadata: { model: "no-such-model" } });
  });
});
