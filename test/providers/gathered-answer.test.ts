import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FinishReason, ToolCallDeltaSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_STREAMED_ANSWER_CHARS } from "../../src/providers/answer-limits.js";
import type { ErrorContext } from "../../src/providers/codec.js";
import { gatheredAnswer } from "../../src/providers/gathered-answer.js";
import type { ChatStreamEvent } from "../../src/providers/provider.js";
import { createCredential } from "../../src/secrets/credential.js";

const ctx: ErrorContext = { provider: "dashscope", credential: createCredential("dashscope/k1", "sk-unit-test-key-0123456789") };

async function* events(...list: ChatStreamEvent[]): AsyncGenerator<ChatStreamEvent> {
  yield* list;
}

const end = (id = ""): ChatStreamEvent => ({ type: "end", id, finishReason: FinishReason.TOOL_CALLS, usage: undefined });
const fragment = (index: number, id: string, name: string, argumentsFragment: string) => create(ToolCallDeltaSchema, { index, id, name, argumentsFragment });

describe("gatheredAnswer", () => {
  it("joins text, reasoning and tool call fragments in index order, naming an unnamed call as the gateway does, and keeps the first delta's id when the end has none", async () => {
    const answer = await gatheredAnswer(
      events(
        { type: "delta", id: "req-1", content: "", reasoning: "hm", toolCalls: [fragment(1, "", "b", "{")] },
        { type: "delta", content: "ok", toolCalls: [fragment(0, "call_a", "a", "{}"), fragment(1, "", "", "}")] },
        end(),
      ),
      ctx,
    );
    expect(answer.id).toBe("req-1");
    expect(answer.message.content).toBe("ok");
    expect(answer.message.reasoningContent).toBe("hm");
    expect(answer.message.toolCalls.map((call) => [call.id, call.name, call.arguments])).toEqual([
      ["call_a", "a", "{}"],
      // Made up as the gateway makes one up: unique across answers (made-up-call-id.ts).
      [expect.stringMatching(/^call_1_[0-9a-f]{16}$/), "b", "{}"],
    ]);
    expect(answer.finishReason).toBe(FinishReason.TOOL_CALLS);
  });

  it("fails as the vendor's bad response past the most the gateway keeps of one answer", async () => {
    const half = "x".repeat(MAX_STREAMED_ANSWER_CHARS / 2 + 1);
    const gathering = gatheredAnswer(events({ type: "delta", content: half, toolCalls: [] }, { type: "delta", content: half, toolCalls: [] }, end()), ctx);
    await expect(gathering).rejects.toMatchObject({ kind: "bad_response", message: expect.stringContaining("longer than") });
  });
});
