// Streamed tool call fragments without `index`, as some OpenAI-compatible
// servers (reached through the ollama, vllm and compatible presets) send
// them: read as their place in the chunk's list, two calls streamed one a
// chunk were both call 0 and merged into one (audit vendors2 #3). A fragment
// with a new id starts the next call; one without an id continues the call
// last started; streams with `index` are read as before.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder } from "../../../src/providers/codec.js";
import { openAIChunkDecoder } from "../../../src/providers/openai/chat-chunks.js";
import { StreamedToolCalls } from "../../../src/providers/streamed-tool-calls.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode, type RecordedEvent } from "../../support/codec-fixtures.js";
import { fragmentJson, toolCallDialects, type Fragment } from "../../support/tool-call-dialects.js";

const ctx: ErrorContext = { provider: "deepseek", credential: createCredential("deepseek/test", "sk-deepseek-codec-0123456789abcdef") };

/** Each dialect's stream of one chunk a list of fragments, ending in finish_reason tool_calls. */
const DIALECTS = toolCallDialects(ctx);

/** The calls a stream of these chunks comes to, assembled as the gateway assembles them. */
function callsOf(decoder: () => StreamDecoder, chunk: (fragments: Fragment[]) => RecordedEvent, end: RecordedEvent[], chunks: Fragment[][]) {
  const { deltas } = decode(decoder(), [...chunks.map(chunk), ...end]);
  const calls = new StreamedToolCalls();
  for (const fragment of deltas.flatMap((delta) => delta.toolCalls)) calls.add(fragment);
  return calls.list().map(({ id, name, arguments: args }) => ({ id, name, args }));
}

describe.each(DIALECTS)("%s", (_, decoder, chunk, end) => {
  const calls = (chunks: Fragment[][]) => callsOf(decoder, chunk, end, chunks);

  it("two calls, one a chunk and no index: two calls", () => {
    expect(
      calls([
        [{ id: "call_A", name: "f", arguments: '{"a":1}' }],
        [{ id: "call_B", name: "g", arguments: '{"b":2}' }],
      ]),
    ).toEqual([
      { id: "call_A", name: "f", args: '{"a":1}' },
      { id: "call_B", name: "g", args: '{"b":2}' },
    ]);
  });

  it("arguments after each call's first fragment, with no index or id: the call last started", () => {
    expect(
      calls([
        [{ id: "call_A", name: "f" }],
        [{ arguments: '{"a"' }],
        [{ arguments: ":1}" }],
        [{ id: "call_B", name: "g" }],
        [{ arguments: '{"b":2}' }],
      ]),
    ).toEqual([
      { id: "call_A", name: "f", args: '{"a":1}' },
      { id: "call_B", name: "g", args: '{"b":2}' },
    ]);
  });

  it("a call's id said again on each fragment: the same call", () => {
    expect(
      calls([
        [{ id: "call_A", name: "f", arguments: '{"a"' }],
        [{ id: "call_A", arguments: ":1}" }],
        [{ id: "call_B", name: "g", arguments: "{}" }],
      ]),
    ).toEqual([
      { id: "call_A", name: "f", args: '{"a":1}' },
      { id: "call_B", name: "g", args: "{}" },
    ]);
  });

  it("two calls in one chunk, no index: each its place in the list, as before", () => {
    expect(calls([[{ id: "call_A", name: "f", arguments: "{}" }, { id: "call_B", name: "g", arguments: "{}" }]])).toEqual([
      { id: "call_A", name: "f", args: "{}" },
      { id: "call_B", name: "g", args: "{}" },
    ]);
  });

  it("with index, as the vendor says, the id only on each call's first fragment", () => {
    expect(
      calls([
        [{ index: 0, id: "call_A", name: "f" }],
        [{ index: 1, id: "call_B", name: "g" }],
        [{ index: 0, arguments: '{"a":1}' }],
        [{ index: 1, arguments: '{"b":2}' }],
      ]),
    ).toEqual([
      { id: "call_A", name: "f", args: '{"a":1}' },
      { id: "call_B", name: "g", args: '{"b":2}' },
    ]);
  });
});

it("the OpenAI writer gives each call its own index, so an OpenAI SDK accumulates two calls", () => {
  const { deltas } = decode(openAIChunkDecoder(ctx), [
    { data: { id: "d1", choices: [{ index: 0, delta: { tool_calls: [fragmentJson({ id: "call_A", name: "f", arguments: '{"a":1}' })] } }] } },
    { data: { id: "d1", choices: [{ index: 0, delta: { tool_calls: [fragmentJson({ id: "call_B", name: "g", arguments: '{"b":2}' })] } }] } },
    { data: { id: "d1", choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] } },
    { data: "[DONE]" },
  ]);
  expect(deltas.flatMap((delta) => delta.toolCalls)).toEqual([
    create(ToolCallDeltaSchema, { index: 0, id: "call_A", name: "f", argumentsFragment: '{"a":1}' }),
    create(ToolCallDeltaSchema, { index: 1, id: "call_B", name: "g", argumentsFragment: '{"b":2}' }),
  ]);
});
