import { create, type JsonObject } from "@bufbuild/protobuf";
import { MessageSchema, Role, ToolCallDeltaSchema, type FinishReason } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
import { badResponse, streamCutShort } from "../response-body.js";
import type {
  ChatParams,
  ChatResult,
  ChatStreamEvent,
  DiscoveredModel,
  EmbedParams,
  EmbedResult,
  ProviderAdapter,
  UpstreamCall,
} from "../provider.js";
import { redactSecrets } from "../redact.js";
import { parseSse } from "../transport/sse.js";
import { UpstreamError } from "../upstream-error.js";
import { apiKeyHeader, VendorClient } from "../vendor-client.js";
import { fromGoogleError, geminiUpstreamError } from "./errors.js";
import { fromGeminiFinishReason, fromGeminiParts, fromGeminiUsage, modelPath, modelResource, toGeminiBody, type GeminiResponse, type GeminiUsage } from "./wire.js";

export interface GeminiOptions {
  name: string;
  /** Base URL with the API version: "https://generativelanguage.googleapis.com/v1beta". */
  baseUrl: string;
  headers?: Record<string, string>;
  connections?: number;
}

/** The Gemini Developer API (generativelanguage) dialect. */
export class GeminiAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "gemini";
  private readonly client: VendorClient;

  constructor(options: GeminiOptions) {
    this.name = options.name;
    this.client = new VendorClient(options, {
      // The header, not `?key=`, so the key stays out of URLs that proxies and logs record.
      credentialHeaders: apiKeyHeader("x-goog-api-key"),
      httpError: geminiUpstreamError,
    });
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toGeminiBody(this.name, call.params);
    const answer = await this.client.json<GeminiResponse>({ method: "POST", path: `${modelPath(call.upstreamModel)}:generateContent`, body }, call);
    const candidate = answer.candidates?.[0];
    if (!candidate) throw this.noCandidate(call.credential, answer);
    const { text, toolCalls } = fromGeminiParts(candidate.content?.parts, 0);
    return {
      id: answer.responseId ?? "",
      message: create(MessageSchema, { role: Role.ASSISTANT, content: text, toolCalls }),
      finishReason: fromGeminiFinishReason(candidate.finishReason, toolCalls.length > 0),
      usage: fromGeminiUsage(answer.usageMetadata),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const body = toGeminiBody(this.name, call.params);
    const res = await this.client.send({ method: "POST", path: `${modelPath(call.upstreamModel)}:streamGenerateContent?alt=sse`, body, stream: true }, call);
    let id = "";
    let tools = 0;
    let reason: string | undefined;
    // Usage comes on many chunks, each a running total: the last one counts.
    let usage: GeminiUsage | undefined;
    try {
      for await (const event of parseSse(res.body)) {
        if (event.data === "") continue;
        let chunk: GeminiResponse;
        try {
          chunk = JSON.parse(event.data) as GeminiResponse;
        } catch {
          throw badResponse(this.name, call.credential, "sent a stream event that is not JSON");
        }
        if (chunk.error) throw fromGoogleError(this.name, call.credential, chunk.error.code ?? 500, chunk.error);
        if (chunk.responseId) id = chunk.responseId;
        if (chunk.usageMetadata) usage = chunk.usageMetadata;
        const candidate = chunk.candidates?.[0];
        if (!candidate) {
          if (chunk.promptFeedback?.blockReason) throw this.noCandidate(call.credential, chunk);
          continue;
        }
        const { text, toolCalls } = fromGeminiParts(candidate.content?.parts, tools);
        tools += toolCalls.length;
        if (candidate.finishReason) reason = candidate.finishReason;
        if (text === "" && toolCalls.length === 0) continue;
        const fragments = toolCalls.map((tool, position) =>
          create(ToolCallDeltaSchema, { index: tools - toolCalls.length + position, id: tool.id, name: tool.name, argumentsFragment: tool.arguments }),
        );
        yield { type: "delta", content: text, toolCalls: fragments };
      }
    } catch (err) {
      throw this.client.classify(err, call);
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
    // There is no end marker: a stream that closes before a finishReason was cut short.
    if (reason === undefined) throw streamCutShort(this.name, call.credential);
    const finishReason: FinishReason = fromGeminiFinishReason(reason, tools > 0);
    yield { type: "end", id, finishReason, usage: fromGeminiUsage(usage) };
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    const path = modelPath(call.upstreamModel);
    const requests = call.params.inputs.map((text) => {
      const request: JsonObject = { model: modelResource(call.upstreamModel), content: { parts: [{ text }] } };
      if (call.params.dimensions !== undefined) request.outputDimensionality = call.params.dimensions;
      return request;
    });
    const answer = await this.client.json<{ embeddings?: { values?: number[] }[] }>({ method: "POST", path: `${path}:batchEmbedContents`, body: { requests } }, call);
    const vectors = (answer.embeddings ?? []).map((embedding) => embedding.values ?? []);
    if (vectors.length !== call.params.inputs.length) throw badResponse(this.name, call.credential, "answered with the wrong number of embeddings");
    // The Developer API reports no token counts for embeddings.
    return { vectors, usage: undefined };
  }

  async listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    let pageToken: string | undefined;
    // The list is paged; a handful of pages covers every model Google offers.
    for (let page = 0; page < 10; page++) {
      const query = `?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ""}`;
      const list = await this.client.json<{ models?: { name?: string; supportedGenerationMethods?: string[] }[]; nextPageToken?: string }>(
        { method: "GET", path: `/models${query}` },
        { credential, signal },
      );
      for (const model of list.models ?? []) {
        if (typeof model.name !== "string") continue;
        const methods = model.supportedGenerationMethods ?? [];
        const embeddings = methods.includes("embedContent");
        // Models that neither chat nor embed (e.g. answer-only or image models) cannot be served through this API.
        if (!embeddings && !methods.includes("generateContent")) continue;
        models.push({ id: model.name.replace(/^models\//, ""), embeddings });
      }
      if (!list.nextPageToken) break;
      pageToken = list.nextPageToken;
    }
    return models;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** No candidate: Gemini blocked the prompt (promptFeedback.blockReason) or answered nothing usable. */
  private noCandidate(credential: Credential, answer: GeminiResponse): UpstreamError {
    const blocked = answer.promptFeedback?.blockReason;
    if (!blocked) return badResponse(this.name, credential, "answered with no candidates");
    const why = answer.promptFeedback?.blockReasonMessage;
    const detail = why ? `: ${redactSecrets(why, credential)}` : "";
    return new UpstreamError({
      kind: "content_filtered",
      provider: this.name,
      credentialId: credential.id,
      vendorCode: blocked,
      message: `provider "${this.name}" blocked the prompt (${blocked})${detail}`,
    });
  }
}
