import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG, SERVED, startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";
import { pythonWith, QUIET_PYTHON } from "./support/python-sdks.js";
import { run } from "./support/client-harness.js";

// The official Anthropic Python SDK (pinned in scripts/python-test-requirements.txt)
// against the gateway's Messages surface, with its default options, for a model
// served by each of three vendors.
const PROGRAM = "test/clients/support/anthropic_sdk_calls.py";

let world: ThreeVendors;
beforeAll(async () => {
  world = await startThreeVendors();
});
afterAll(async () => {
  await world?.stop();
});

describe("the official Anthropic Python SDK with its default options", () => {
  it("gets each vendor's text and tool calls exactly, unary and through messages.stream(), runs a tool loop, and reads errors", async () => {
    const python = await pythonWith("anthropic");
    const result = await run(python, [PROGRAM], {
      env: { ...QUIET_PYTHON, SWITCHBOARD_ADDR: `127.0.0.1:${world.gw.port}`, SWITCHBOARD_KEY: MASTER_KEY, PNG, MODELS: JSON.stringify(SERVED.map((s) => s.model)) },
      timeoutMs: 90_000,
    });
    expect(result.code, `the Python program failed:\n${result.output}`).toBe(0);
    const got = JSON.parse(result.stdout);

    for (const { vendor, model } of SERVED) {
      const calls = got.models[model];
      expect(calls.unary).toBe("Echo: hello from python");
      expect(calls.unary_stop).toBe("end_turn");
      expect(calls.stream_pieces.join("")).toBe("Echo: stream from python");
      expect(calls.stream_pieces.length).toBeGreaterThan(1);
      expect(calls.stream_final).toBe("Echo: stream from python");
      // The call as the vendor made it; the first of the two it made in this program.
      const made = world[vendor].toolCallsMade.find((call) => call.arguments === JSON.stringify({ query: "weather in Lima" }))!;
      expect(calls.tool).toEqual({ id: made.id, name: "lookup", input: { query: "weather in Lima" }, partial: made.arguments, stop: "tool_use" });
      expect(calls.after_tool).toBe("Tool result: cloudy");
      if (vendor === "dashscope") expect(calls.image).toMatchObject({ status: 400, type: "invalid_request_error", message: expect.stringContaining("image") });
      else expect(calls.image).toBe("Echo: what is this");
    }
    expect(got.unauthenticated).toEqual({ class: "AuthenticationError", status: 401, type: "authentication_error" });
    expect(got.missing).toEqual({ class: "NotFoundError", status: 404, type: "not_found_error" });
  }, 120_000);
});
