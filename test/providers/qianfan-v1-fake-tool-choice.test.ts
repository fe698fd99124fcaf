// The ERNIE v1 fake holds tool_choice to the shape the reference documents,
// {type:"function", function:{name}} naming one of `functions`
// (../shared/reference/vendor-wire-formats.md §2a Tools; the SDK's ToolChoice,
// go/qianfan/chat_completion.go), so a codec that wrote another shape
// (OpenAI's mode words, a bare name) would fail against it; what the codec writes passes.
import { fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { createQianfanV1Codec } from "../../src/providers/qianfan-v1/codec.js";
import { violation } from "../fakes/qianfan-v1-fake.js";
import { fixtureFolder } from "../support/codec-fixtures.js";

const functions = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: {} } }];
const body = (tool_choice: unknown) => ({ messages: [{ role: "user", content: "Rome" }], functions, tool_choice });

describe("the ERNIE v1 fake's tool_choice rule", () => {
  it("takes what the codec writes for a forced function", () => {
    const { request, model } = fixtureFolder("qianfan-v1").read("request-tool-choice-required.json");
    const built = createQianfanV1Codec({ provider: "qianfan" }).chatRequest(fromJson(ChatRequestSchema, request), model, false).body as Record<string, unknown>;
    expect(built.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(violation(built, "completions_pro")).toBeUndefined();
  });

  it.each([
    ["a mode word", "required"],
    ["OpenAI's legacy shape", { type: "function", name: "get_weather" }],
    ["another type", { type: "tool", function: { name: "get_weather" } }],
    ["no name", { type: "function", function: {} }],
    ["null", null],
  ])("refuses %s (336003)", (_, choice) => {
    expect(violation(body(choice), "completions_pro")).toEqual([336003, 'tool_choice must be {"type":"function","function":{"name":…}}']);
  });

  it("refuses a name that is not among functions", () => {
    expect(violation(body({ type: "function", function: { name: "get_time" } }), "completions_pro")).toEqual([336003, 'tool_choice names "get_time", which is not among functions']);
  });
});
