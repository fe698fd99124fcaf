// Writes unified answers in the shapes OpenAI SDKs expect.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse, ChatSummary, ChatDelta, EmbedResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, type ToolCall, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Model } from "../../../gen/ts/switchboard/v1/models_pb.js";
import { encodeEmbedding, type EmbeddingEncoding } from "./embedding-encoding.js";

const FINISH: Record<FinishReason, string | null> = {
  [FinishReason.UNSPECIFIED]: null,
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.CONTENT_FILTER]: "content_filter",
};

function usage(u: Usage | undefined): JsonObject | null {
  if (!u) return null;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

function toolCalls(calls: ToolCall[]): JsonObject[] {
  return calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }));
}

export function chatCompletion(res: ChatResponse, created: number): JsonObject {
  const message: JsonObject = { role: "assistant", content: res.message?.content || (res.message?.toolCalls.length ? null : "") };
  if (res.message?.toolCalls.length) message.tool_calls = toolCalls(res.message.toolCalls);
  return {
    id: res.id || `chatcmpl-${res.requestId}`,
    object: "chat.completion",
    created,
    model: res.model,
    choices: [{ index: 0, message, finish_reason: FINISH[res.finishReason], logprobs: null }],
    usage: usage(res.usage),
  };
}

/** Builds the `chat.completion.chunk` objects of one streamed answer. */
export class ChunkWriter {
  private first = true;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
  ) {}

  private chunk(choices: JsonObject[], extra: JsonObject = {}): JsonObject {
    return { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices, ...extra };
  }

  delta(delta: ChatDelta): JsonObject {
    const out: JsonObject = {};
    if (this.first) out.role = "assistant";
    this.first = false;
    if (delta.content) out.content = delta.content;
    if (delta.toolCalls.length > 0) {
      out.tool_calls = delta.toolCalls.map((fragment) => {
        const call: JsonObject = { index: fragment.index, function: { arguments: fragment.argumentsFragment } };
        if (fragment.id) call.id = fragment.id;
        if (fragment.id) call.type = "function";
        if (fragment.name) (call.function as JsonObject).name = fragment.name;
        return call;
      });
    }
    return this.chunk([{ index: 0, delta: out, finish_reason: null }]);
  }

  finish(summary: ChatSummary): JsonObject {
    return this.chunk([{ index: 0, delta: {}, finish_reason: FINISH[summary.finishReason] }]);
  }

  usage(summary: ChatSummary): JsonObject {
    return this.chunk([], { usage: usage(summary.usage) });
  }
}

/** A model as `GET /v1/models/{model}` answers it, under the name the caller used. */
export function modelObject(model: Model, id = model.id): JsonObject {
  return { id, object: "model", created: 0, owned_by: model.provider };
}

export function modelList(models: Model[]): JsonObject {
  return { object: "list", data: models.map((m) => modelObject(m)) };
}

export function embeddingList(res: EmbedResponse, encoding: EmbeddingEncoding): JsonObject {
  return {
    object: "list",
    data: res.embeddings.map((e) => ({ object: "embedding", index: e.index, embedding: encodeEmbedding(e.values, encoding) })),
    model: res.model,
    usage: { prompt_tokens: res.usage?.promptTokens ?? 0, total_tokens: res.usage?.totalTokens ?? 0 },
  };
}
