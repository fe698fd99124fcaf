// A tool call's arguments and a tool's output are JSON as text inside a
// request: the body's own depth bound never counted them, yet the codecs of
// vendors with structured tools (Anthropic, Gemini) parse them into objects
// and write them to the vendor again, where 200,000 levels overflow the stack.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ToolCallSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_JSON_DEPTH } from "../../src/common/json-nesting.js";
import { toolArgumentsObject, toolResultValue } from "../../src/providers/message-content.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";

/** An object holding arrays `levels` deep: `levels + 1` levels in all. */
const nested = (levels: number) => `{"a":${"[".repeat(levels)}${"]".repeat(levels)}}`;

describe("toolArgumentsObject", () => {
  const call = (args: string) => create(ToolCallSchema, { id: "c1", name: "lookup", arguments: args });

  it(`parses arguments ${MAX_JSON_DEPTH} levels deep`, () => {
    expect(toolArgumentsObject("anthropic", call(nested(MAX_JSON_DEPTH - 1)))).toHaveProperty("a");
  });

  it("refuses arguments nested deeper, as the caller's bad request, without parsing them", () => {
    let thrown: unknown;
    try {
      toolArgumentsObject("anthropic", call(nested(200_000)));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ kind: "bad_request", message: expect.stringContaining(`call "c1" (lookup) nest objects and arrays deeper than ${MAX_JSON_DEPTH} levels`) });
  });
});

describe("toolResultValue", () => {
  it("parses an output that is JSON within the bound", () => {
    expect(toolResultValue(nested(MAX_JSON_DEPTH - 1))).toHaveProperty("a");
  });

  it("passes an output nested deeper as the text it is: a tool may write any text", () => {
    const deep = nested(200_000);
    expect(toolResultValue(deep)).toBe(deep);
  });
});
