// A tool call's id and name said again on every fragment, as DeepSeek,
// Moonshot, Zhipu and DashScope may stream them: the contract (ToolCallDelta,
// chat.proto) gives them on a call's first fragment only, and a client that
// joins fragments' fields (LangChain's chunk merge) built the name "aa" and
// the id "call_Acall_A" from what the OpenAI dialect passed on (audit
// translate #5). Both dialects read fragments through one reader.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode } from "../../support/codec-fixtures.js";
import { toolCallDialects, type Fragment } from "../../support/tool-call-dialects.js";

const ctx: ErrorContext = { provider: "zhipu", credential: createCredential("zhipu/test", "zhipu-codec-key-0123456789abcdef") };

const DIALECTS = toolCallDialects(ctx);

const delta = (index: number, id: string, name: string, argumentsFragment: string) => create(ToolCallDeltaSchema, { index, id, name, argumentsFragment });

describe.each(DIALECTS)("%s", (_, decoder, chunk, end) => {
  const fragmentsOf = (chunks: Fragment[][]) => decode(decoder(), [...chunks.map(chunk), ...end]).deltas.flatMap((d) => d.toolCalls);

  it("id and name on every fragment, no index: they go out once, on the first", () => {
    const fragments = fragmentsOf([[{ id: "call_A", name: "a", arguments: '{"x":' }], [{ id: "call_A", name: "a", arguments: "1}" }]]);
    expect(fragments).toEqual([delta(0, "call_A", "a", '{"x":'), delta(0, "", "", "1}")]);
    // Joined field by field, as LangChain merges chunks: one call, named once.
    expect(fragments.map((f) => f.name).join("")).toBe("a");
    expect(fragments.map((f) => f.id).join("")).toBe("call_A");
  });

  it("id and name on every fragment of two indexed calls: each call's once", () => {
    expect(
      fragmentsOf([
        [{ index: 0, id: "call_A", name: "a", arguments: "{" }],
        [{ index: 1, id: "call_B", name: "b", arguments: "{" }],
        [{ index: 0, id: "call_A", name: "a", arguments: "}" }],
        [{ index: 1, id: "call_B", name: "b", arguments: "}" }],
      ]),
    ).toEqual([delta(0, "call_A", "a", "{"), delta(1, "call_B", "b", "{"), delta(0, "", "", "}"), delta(1, "", "", "}")]);
  });

  it("a repeat that brings nothing new is left out", () => {
    expect(fragmentsOf([[{ index: 0, id: "call_A", name: "a", arguments: "{}" }], [{ index: 0, id: "call_A", name: "a" }]])).toEqual([delta(0, "call_A", "a", "{}")]);
  });

  it("a name that comes after the id still goes out, once", () => {
    expect(
      fragmentsOf([[{ index: 0, id: "call_A" }], [{ index: 0, name: "a", arguments: "{" }], [{ index: 0, id: "call_A", name: "a", arguments: "}" }]]),
    ).toEqual([delta(0, "call_A", "", ""), delta(0, "", "a", "{"), delta(0, "", "", "}")]);
  });
});
