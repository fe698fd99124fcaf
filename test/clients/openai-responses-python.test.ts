import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { PNG, SERVED, startThreeVendors, type ThreeVendors } from "../agents/support/three-vendors.js";
import { MASTER_KEY } from "../support/gateway.js";
import { run } from "./support/client-harness.js";
import { pythonWith, QUIET_PYTHON } from "./support/python-sdks.js";

// The official OpenAI Python SDK's Responses API (pinned in
// scripts/python-test-requirements.txt) against the gateway's /v1/responses,
// with its default options, for a model served by each of three vendors.
const PROGRAM = "test/clients/support/openai_responses_calls.py";

let world: ThreeVendors;
let otherKey: string;
beforeAll(async () => {
  world = await startThreeVendors();
  otherKey = (await createClient(AdminService, world.gw.transport("connect")).createKey({ keyId: "python-other", key: { displayName: "another" } })).secret;
});
afterAll(async () => {
  await world?.stop();
});

describe("the official OpenAI Python SDK's Responses API with its default options", () => {
  it("gets each vendor's text and function calls exactly, unary and through responses.stream(), runs a tool loop, and keeps responses to their key", async () => {
    const python = await pythonWith("openai");
    const result = await run(python, [PROGRAM], {
      env: { ...QUIET_PYTHON, SWITCHBOARD_ADDR: `127.0.0.1:${world.gw.port}`, SWITCHBOARD_KEY: MASTER_KEY, OTHER_KEY: otherKey, PNG, MODELS: JSON.stringify(SERVED.map((s) => s.model)) },
      timeoutMs: 90_000,
    });
    expect(result.code, `the Python program failed:\n${result.output}`).toBe(0);
    const got = JSON.parse(result.stdout);

    for (const { vendor, model } of SERVED) {
      const calls = got.models[model];
      expect(calls.unary).toBe("Echo: hello from python");
      expect(calls.stream_pieces.join("")).toBe("Echo: stream from python");
      expect(calls.stream_pieces.length).toBeGreaterThan(1);
      expect(calls.stream_final).toBe("Echo: stream from python");
      const made = world[vendor].toolCallsMade.find((call) => call.arguments === JSON.stringify({ query: "weather in Lima" }))!;
      expect(calls.tool).toEqual({ id: made.id, name: "lookup", arguments: made.arguments, deltas: made.arguments });
      expect(calls.after_tool).toBe("Tool result: cloudy");
      expect(calls.after_tool_continued).toBe("Tool result: cloudy");
      if (vendor === "dashscope") expect(calls.image).toEqual({ status: 400, code: "invalid_argument" });
      else expect(calls.image).toBe("Echo: what is this");
    }
    expect(got.built_in_tool).toEqual({ class: "BadRequestError", status: 400, code: "invalid_argument", param: "tools[0].type" });
    expect(got.owner_reads).toBe("Echo: a private note");
    expect(got.other_reads).toMatchObject({ class: "NotFoundError", status: 404, code: "response_not_found" });
    expect(got.other_continues).toMatchObject({ class: "NotFoundError", status: 404, code: "response_not_found" });
  }, 120_000);
});
