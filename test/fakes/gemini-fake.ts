import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer, type RecordedRequest, type Scripted } from "./fake-server.js";
import { droppedConnection } from "./stream-writing.js";

/**
 * A fake Gemini Developer API (generativelanguage v1beta). It enforces the
 * documented request rules (x-goog-api-key, roles "user"/"model" only,
 * non-empty parts, function responses right after the matching function
 * call turn, thought signatures on Gemini 3 function calls of the current
 * turn, its own or Google's documented placeholder, proto-JSON field names)
 * and answers in the documented shapes:
 * - the answer echoes the last user text ("Echo: …");
 * - with function declarations (mode not NONE) it calls the allowed or first
 *   function with {"query": …}, without an id, as the Developer API does;
 * - after function responses it answers "Tool result: …" ("error: …" for a
 *   response under the documented `error` key), counting the images the
 *   user turn holds beside them;
 * - responseMimeType application/json answers {"answer": …}; Gemini 2.x refuses
 *   it beside function declarations, as the real API does (400 "Function calling
 *   with a response mime type: 'application/json' is unsupported",
 *   googleapis/python-genai#867); Gemini 3 takes both
 *   (https://ai.google.dev/gemini-api/docs/structured-output#structured_outputs_with_tools);
 * - maxOutputTokens (in words here) cuts the answer with finishReason MAX_TOKENS;
 * - a prompt containing "[blocked]" is blocked (promptFeedback, no candidates);
 * - streams are `data:` events framed with CRLF and no end marker;
 * - `thinkingConfig`: Gemini 2.5 takes a `thinkingBudget` in its model's range,
 *   Gemini 3 a `thinkingLevel`; with `includeThoughts` the answer starts with
 *   a thought summary part (`thought: true`) (https://ai.google.dev/gemini-api/docs/thinking).
 */
export interface GeminiFakeOptions {
  apiKey: string;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  /** Words of filler appended to each answer (for long streams). */
  extraWords?: number;
  /**
   * The `modelVersion` an answer names, by the model asked, where they
   * differ: an alias answers as the model it points to. Unset, an answer
   * names the model asked.
   */
  modelVersions?: Record<string, string>;
  /**
   * Streams (alt=sse): the connection is dropped after the chunk with the finish reason and the final usage,
   * where the body would have ended: a vendor's connection lost once it had said the answer's end.
   */
  dropAfterFinish?: boolean;
}

export interface GeminiFake extends FakeServer {
  /** The base URL to configure, ".../v1beta". */
  readonly baseUrl: string;
  readonly options: GeminiFakeOptions;
  /** Bodies of generateContent and streamGenerateContent requests. */
  generateRequests(): Json[];
  /** Makes the next stream close after its first chunk, before any finishReason. */
  cutNextStream(): void;
}

type Json = Record<string, any>;

interface FakeModel {
  name: string;
  methods: string[];
  /** Thinking models report thoughtsTokenCount; Gemini 3 also signs its function calls. */
  thinking?: boolean;
  signs?: boolean;
  /** The thinking budgets a 2.5 model takes; Gemini 3 takes levels instead. */
  budget?: [number, number];
  levels?: string[];
  /** Refuses function declarations beside responseMimeType application/json (Gemini before 3). */
  noJsonWithTools?: boolean;
}

const MODELS: FakeModel[] = [
  { name: "gemini-2.0-flash", methods: ["generateContent", "countTokens"], noJsonWithTools: true },
  { name: "gemini-2.5-flash", methods: ["generateContent", "countTokens"], thinking: true, budget: [0, 24_576], noJsonWithTools: true },
  { name: "gemini-3-pro-preview", methods: ["generateContent", "countTokens"], thinking: true, signs: true, levels: ["low", "high"] },
  { name: "text-embedding-004", methods: ["embedContent"] },
  { name: "gemini-embedding-001", methods: ["embedContent", "countTokens"] },
  { name: "aqa", methods: ["generateAnswer"] },
];

const TOP_LEVEL = ["contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings", "cachedContent"];
const GENERATION_CONFIG = [
  "temperature",
  "topP",
  "topK",
  "candidateCount",
  "maxOutputTokens",
  "stopSequences",
  "seed",
  "presencePenalty",
  "frequencyPenalty",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "responseLogprobs",
  "logprobs",
  "thinkingConfig",
  "responseModalities",
];
const PART_DATA = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"];
/**
 * FunctionResponse's fields (https://ai.google.dev/api/caching#FunctionResponse). Its `response` is any
 * JSON object; "output" and "error" are the keys Google documents for a call's output and a failed
 * call's details (the whole object is the output when neither is there).
 */
const FUNCTION_RESPONSE = ["id", "name", "response", "parts", "willContinue", "scheduling"];
/**
 * The placeholder Google documents for a function call whose history came from
 * another model and so has no signature: it passes the check
 * (https://ai.google.dev/gemini-api/docs/thought-signatures, FAQ). Anything
 * else must be a signature the fake gave.
 */
const SKIP_SIGNATURE_CHECK = "skip_thought_signature_validator";
// `parameters` takes an OpenAPI subset: JSON Schema keywords outside it are unknown proto fields.
const OPENAPI_UNKNOWN = ["additionalProperties", "$schema", "$ref", "$defs", "const", "oneOf"];

/** A scripted Google error answer, shaped as the API sends them. */
export function googleError(code: number, status: string, message: string, details: Json[] = [], headers?: Record<string, string>): Scripted {
  return { kind: "error", status: code, body: { error: { code, message, status, details } }, headers };
}

/** Gemini's 429: RESOURCE_EXHAUSTED with a QuotaFailure and a RetryInfo saying when to come back. */
export function rateLimited(retryDelay: string): Scripted {
  return googleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
    { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }] },
    { "@type": "type.googleapis.com/google.rpc.Help", links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }] },
    { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay },
  ]);
}

const API_KEY_INVALID = {
  error: {
    code: 400,
    message: "API key not valid. Please pass a valid API key.",
    status: "INVALID_ARGUMENT",
    details: [
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
      { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US", message: "API key not valid. Please pass a valid API key." },
    ],
  },
};

function invalid(res: ServerResponse, message: string): void {
  sendJson(res, 400, { error: { code: 400, message, status: "INVALID_ARGUMENT" } });
}

function unknownField(field: string, at: string): string {
  return `Invalid JSON payload received. Unknown name "${field}" at '${at}': Cannot find field.`;
}

function textOf(parts: Json[] | undefined): string {
  return (parts ?? [])
    .filter((p) => typeof p.text === "string")
    .map((p) => p.text)
    .join(" ");
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Returns an error message when the body breaks one of Gemini's documented rules. */
export function violation(body: Json, model: FakeModel, signatures: Set<string>): string | undefined {
  for (const key of Object.keys(body)) if (!TOP_LEVEL.includes(key)) return unknownField(key, "");
  if (!Array.isArray(body.contents) || body.contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  if (body.systemInstruction !== undefined && !(Array.isArray(body.systemInstruction.parts) && body.systemInstruction.parts.every((p: Json) => typeof p.text === "string"))) {
    return "* GenerateContentRequest.system_instruction: system instruction must hold text parts";
  }
  const config: Json = body.generationConfig ?? {};
  for (const key of Object.keys(config)) if (!GENERATION_CONFIG.includes(key)) return unknownField(key, "generation_config");
  if (config.temperature !== undefined && !(config.temperature >= 0 && config.temperature <= 2)) return "* GenerateContentRequest.generation_config.temperature: must be between 0 and 2";
  if (config.topP !== undefined && !(config.topP >= 0 && config.topP <= 1)) return "* GenerateContentRequest.generation_config.top_p: must be between 0 and 1";
  if (config.topK !== undefined && !(Number.isInteger(config.topK) && config.topK >= 1)) return "* GenerateContentRequest.generation_config.top_k: must be a positive integer";
  if (config.responseMimeType !== undefined && !["text/plain", "application/json", "text/x.enum"].includes(config.responseMimeType)) {
    return `* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are \`text/plain\`, \`application/json\`, and \`text/x.enum\`.`;
  }
  if ((config.responseSchema || config.responseJsonSchema) && config.responseMimeType !== "application/json") {
    return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when a response schema is set";
  }
  if (config.responseSchema && config.responseJsonSchema) return "responseSchema and responseJsonSchema are mutually exclusive";
  const thinking = config.thinkingConfig;
  if (thinking !== undefined) {
    for (const key of Object.keys(thinking)) if (!["includeThoughts", "thinkingBudget", "thinkingLevel"].includes(key)) return unknownField(key, "generation_config.thinking_config");
    if (!model.thinking) return "Thinking is not supported by this model.";
    if (thinking.thinkingLevel !== undefined && !model.levels?.includes(thinking.thinkingLevel)) return `thinking_level "${thinking.thinkingLevel}" is not supported by this model.`;
    if (thinking.thinkingBudget !== undefined && thinking.thinkingLevel !== undefined) return "thinking_budget and thinking_level cannot both be set.";
    const [min, max] = model.budget ?? [0, 32_768];
    if (thinking.thinkingBudget !== undefined && !(Number.isInteger(thinking.thinkingBudget) && thinking.thinkingBudget >= min && thinking.thinkingBudget <= max)) {
      return `The thinking budget must be between ${min} and ${max}.`;
    }
  }

  const declared = new Set<string>();
  for (const [i, tool] of (body.tools ?? []).entries()) {
    for (const [j, fn] of (tool.functionDeclarations ?? []).entries()) {
      const at = `tools[${i}].function_declarations[${j}]`;
      if (typeof fn.name !== "string" || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(fn.name)) return `* GenerateContentRequest.${at}.name: Invalid function name`;
      if (fn.parameters && fn.parametersJsonSchema) return `* GenerateContentRequest.${at}: parameters and parameters_json_schema are mutually exclusive`;
      const unknown = fn.parameters && OPENAPI_UNKNOWN.find((key) => JSON.stringify(fn.parameters).includes(`"${key}"`));
      if (unknown) return unknownField(unknown, `${at}.parameters`);
      declared.add(fn.name);
    }
  }
  if (model.noJsonWithTools && declared.size > 0 && config.responseMimeType === "application/json") {
    return "Function calling with a response mime type: 'application/json' is unsupported";
  }
  const calling = body.toolConfig?.functionCallingConfig;
  if (calling) {
    if (!["AUTO", "ANY", "NONE", "VALIDATED"].includes(calling.mode)) return `Invalid value at 'tool_config.function_calling_config.mode', "${calling.mode}"`;
    if (calling.allowedFunctionNames && calling.mode !== "ANY" && calling.mode !== "VALIDATED") {
      return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY or VALIDATED";
    }
    for (const name of calling.allowedFunctionNames ?? []) if (!declared.has(name)) return `* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: unknown function "${name}"`;
  }

  // Gemini 3 checks signatures on the function calls of the current turn: everything after the last user text.
  let currentTurn = 0;
  body.contents.forEach((c: Json, i: number) => {
    if ((c.role ?? "user") === "user" && (c.parts ?? []).some((p: Json) => typeof p.text === "string")) currentTurn = i;
  });
  let previousCalls: string[] = [];
  for (const [i, content] of body.contents.entries()) {
    const role = content.role ?? "user";
    if (role !== "user" && role !== "model") return "Please use a valid role: user, model.";
    if (!Array.isArray(content.parts) || content.parts.length === 0) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    const calls: string[] = [];
    const responses: string[] = [];
    for (const [j, part] of content.parts.entries()) {
      for (const key of Object.keys(part)) {
        if (!PART_DATA.includes(key) && key !== "thought" && key !== "thoughtSignature") return unknownField(key, `contents[${i}].parts[${j}]`);
      }
      const data = PART_DATA.filter((key) => part[key] !== undefined);
      if (data.length !== 1) return `* GenerateContentRequest.contents[${i}].parts[${j}].data: required oneof field 'data' must have one initialized field`;
      if (part.inlineData && !(typeof part.inlineData.mimeType === "string" && typeof part.inlineData.data === "string")) {
        return `* GenerateContentRequest.contents[${i}].parts[${j}].inline_data: mime_type and data are required`;
      }
      if (part.fileData && typeof part.fileData.fileUri !== "string") return `* GenerateContentRequest.contents[${i}].parts[${j}].file_data.file_uri: required`;
      if (part.functionCall) {
        if (role !== "model") return "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";
        if (typeof part.functionCall.name !== "string" || typeof part.functionCall.args !== "object") return `* GenerateContentRequest.contents[${i}].parts[${j}].function_call: name and args are required`;
        if (model.signs && i > currentTurn && calls.length === 0 && !signatures.has(part.thoughtSignature) && part.thoughtSignature !== SKIP_SIGNATURE_CHECK) {
          return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${part.functionCall.name}\`, position ${j + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
        }
        calls.push(part.functionCall.name);
      }
      if (part.functionResponse) {
        if (role !== "user") return "Please ensure that function response turn comes immediately after a function call turn.";
        for (const key of Object.keys(part.functionResponse)) if (!FUNCTION_RESPONSE.includes(key)) return unknownField(key, `contents[${i}].parts[${j}].function_response`);
        const response = part.functionResponse.response;
        if (response === null || typeof response !== "object" || Array.isArray(response)) {
          return `* GenerateContentRequest.contents[${i}].parts[${j}].function_response.response: must be an object`;
        }
        if (!previousCalls.includes(part.functionResponse.name)) return "Please ensure that function response turn comes immediately after a function call turn.";
        responses.push(part.functionResponse.name);
      }
    }
    if (responses.length > 0 && responses.length !== previousCalls.length) {
      return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
    }
    previousCalls = calls;
  }
  return undefined;
}

interface Answer {
  response: Json;
  /** What a stream sends piece by piece. */
  text: string;
  /** Thought summary parts, sent first. */
  thoughts: Json[];
  calls: Json[];
  finishReason: string;
}

function answer(body: Json, model: FakeModel, options: GeminiFakeOptions, signatures: Set<string>): Answer {
  const contents: Json[] = body.contents;
  const last = contents[contents.length - 1]!;
  const promptTokens = textOf(body.systemInstruction?.parts).split(/\s+/).filter(Boolean).length + contents.reduce((sum, c) => sum + words(textOf(c.parts)) + 2, 0);
  const usage = (candidates: number): Json => {
    const thoughts = model.thinking ? 5 : 0;
    return { promptTokenCount: promptTokens, candidatesTokenCount: candidates, totalTokenCount: promptTokens + candidates + thoughts, ...(thoughts ? { thoughtsTokenCount: thoughts } : {}) };
  };
  const base = { modelVersion: options.modelVersions?.[model.name] ?? model.name, responseId: randomBytes(8).toString("hex") };
  const userText = textOf([...contents].reverse().find((c) => (c.role ?? "user") === "user" && textOf(c.parts) !== "")?.parts);
  // Thought summaries come first, when asked for.
  const thoughts: Json[] = body.generationConfig?.thinkingConfig?.includeThoughts ? [{ text: `Thinking about ${userText}.`, thought: true }] : [];
  if (userText.includes("[blocked]")) {
    return { response: { ...base, promptFeedback: { blockReason: "SAFETY" }, usageMetadata: usage(0) }, text: "", thoughts: [], calls: [], finishReason: "" };
  }
  const responses: Json[] = (last.parts ?? []).filter((p: Json) => p.functionResponse).map((p: Json) => p.functionResponse);
  const declarations: Json[] = (body.tools ?? []).flatMap((t: Json) => t.functionDeclarations ?? []);
  const calling = body.toolConfig?.functionCallingConfig ?? {};
  if (declarations.length > 0 && calling.mode !== "NONE" && responses.length === 0) {
    const name = calling.mode === "ANY" && calling.allowedFunctionNames?.length ? calling.allowedFunctionNames[0] : declarations[0]!.name;
    const call: Json = { functionCall: { name, args: { query: userText } } };
    if (model.signs) {
      // Real signatures are opaque base64, "+" and "/" included.
      const signature = randomBytes(48).toString("base64").replace(/^./, "+") + "/w==";
      signatures.add(signature);
      call.thoughtSignature = signature;
    }
    const parts = [...thoughts, call];
    return { response: { ...base, candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }], usageMetadata: usage(8) }, text: "", thoughts, calls: [call], finishReason: "STOP" };
  }
  let text = responses.length > 0 ? `Tool result: ${responses.map(responseText).join(" ")}` : `Echo: ${userText}`;
  // Images sent beside function responses are part of the user turn the model sees.
  const images = responses.length > 0 ? (last.parts ?? []).filter((p: Json) => p.inlineData || p.fileData).length : 0;
  if (images > 0) text += ` (and ${images} image${images === 1 ? "" : "s"})`;
  if (options.extraWords) text += " " + Array.from({ length: options.extraWords }, (_, i) => `word${i}`).join(" ");
  let finishReason = "STOP";
  const limit = body.generationConfig?.maxOutputTokens;
  if (typeof limit === "number" && words(text) > limit) {
    text = text.split(/\s+/).slice(0, limit).join(" ");
    finishReason = "MAX_TOKENS";
  }
  if (body.generationConfig?.responseMimeType === "application/json") text = JSON.stringify({ answer: text });
  return {
    response: { ...base, candidates: [{ content: { role: "model", parts: [...thoughts, { text }] }, finishReason, index: 0 }], usageMetadata: usage(words(text)) },
    text,
    thoughts,
    calls: [],
    finishReason,
  };
}

/** A function response as the answer repeats it: its content, or "error: …" for one under the documented `error` key. */
function responseText(r: Json): string {
  const { content, error } = r.response ?? {};
  if (error !== undefined) return `error: ${typeof error === "string" ? error : JSON.stringify(error)}`;
  return typeof content === "string" ? content : JSON.stringify(r.response);
}

/** Stream chunks: text pieces with running usage, then the finishing chunk with the final usage. */
function chunks(result: Answer): Json[] {
  const { response } = result;
  const base = { modelVersion: response.modelVersion, responseId: response.responseId };
  if (!response.candidates) return [response];
  const final = response.usageMetadata;
  const out: Json[] = [];
  if (result.thoughts.length > 0) {
    out.push({ ...base, candidates: [{ content: { role: "model", parts: result.thoughts }, index: 0 }], usageMetadata: { promptTokenCount: final.promptTokenCount, totalTokenCount: final.promptTokenCount } });
  }
  if (result.text !== "") {
    const parts = pieces(result.text);
    parts.forEach((piece, i) => {
      const isLast = i === parts.length - 1 && result.calls.length === 0;
      out.push({
        ...base,
        candidates: [{ content: { role: "model", parts: [{ text: piece }] }, index: 0, ...(isLast ? { finishReason: result.finishReason } : {}) }],
        usageMetadata: isLast ? final : { promptTokenCount: final.promptTokenCount, totalTokenCount: final.promptTokenCount },
      });
    });
  }
  if (result.calls.length > 0) {
    out.push({ ...base, candidates: [{ content: { role: "model", parts: result.calls }, finishReason: result.finishReason, index: 0 }], usageMetadata: final });
  }
  return out;
}

async function stream(res: ServerResponse, sse: boolean, result: Answer, options: GeminiFakeOptions, cut: boolean): Promise<void> {
  res.writeHead(200, { "content-type": sse ? "text/event-stream" : "application/json" });
  const list = cut ? chunks(result).slice(0, 1) : chunks(result);
  if (!sse) {
    // Without alt=sse the stream is one JSON array, written element by element.
    res.write("[");
    for (const [i, chunk] of list.entries()) res.write(`${i > 0 ? ",\r\n" : ""}${JSON.stringify(chunk)}`);
    return void res.end("]");
  }
  for (const chunk of list) {
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  }
  if (options.dropAfterFinish && !cut) return droppedConnection(res);
  res.end();
}

function notFound(res: ServerResponse, model: string, method: string): void {
  sendJson(res, 404, {
    error: {
      code: 404,
      message: `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
      status: "NOT_FOUND",
    },
  });
}

export async function startGeminiFake(options: GeminiFakeOptions): Promise<GeminiFake> {
  const signatures = new Set<string>();
  let cutNext = false;
  const server = await startFakeServer(async (req: RecordedRequest, res) => {
    const key = req.headers["x-goog-api-key"];
    if (key === undefined) {
      return sendJson(res, 403, {
        error: {
          code: 403,
          message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          status: "PERMISSION_DENIED",
        },
      });
    }
    if (key !== options.apiKey) return sendJson(res, 400, API_KEY_INVALID);
    const url = new URL(req.path, "http://fake");
    if (req.method === "GET" && url.pathname === "/v1beta/models") {
      const size = Number(url.searchParams.get("pageSize") ?? 50);
      const start = Number(url.searchParams.get("pageToken") ?? 0);
      const page = MODELS.slice(start, start + size);
      return sendJson(res, 200, {
        models: page.map((m) => ({ name: `models/${m.name}`, displayName: m.name, inputTokenLimit: 1_048_576, outputTokenLimit: 65_536, supportedGenerationMethods: m.methods })),
        ...(start + size < MODELS.length ? { nextPageToken: String(start + size) } : {}),
      });
    }
    const match = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/.exec(url.pathname);
    if (req.method !== "POST" || !match) return sendJson(res, 404, { error: { code: 404, message: `Unknown path ${req.method} ${url.pathname}`, status: "NOT_FOUND" } });
    const [, name, method] = match as unknown as [string, string, string];
    if (typeof req.body !== "object") return invalid(res, "Invalid JSON payload received.");
    const body = req.body as Json;
    const model = MODELS.find((m) => m.name === decodeURIComponent(name));
    if (method === "batchEmbedContents") {
      if (!model?.methods.includes("embedContent")) return notFound(res, name, method);
      const requests: Json[] = body.requests ?? [];
      if (requests.length === 0) return invalid(res, "* BatchEmbedContentsRequest.requests: requests is not specified");
      if (requests.length > 100) return invalid(res, "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch");
      for (const [i, request] of requests.entries()) {
        if (request.model !== `models/${model.name}`) return invalid(res, `* BatchEmbedContentsRequest.requests[${i}].model: model must be "models/${model.name}", as in the URL`);
        if (!Array.isArray(request.content?.parts) || request.content.parts.length === 0) return invalid(res, `* BatchEmbedContentsRequest.requests[${i}].content.parts: must not be empty`);
      }
      return sendJson(res, 200, {
        embeddings: requests.map((r) => {
          const text = textOf(r.content.parts);
          return { values: Array.from({ length: r.outputDimensionality ?? 8 }, (_, d) => ((text.length + d) % 7) / 7) };
        }),
      });
    }
    if (method !== "generateContent" && method !== "streamGenerateContent") return notFound(res, name, method);
    if (!model?.methods.includes("generateContent")) return notFound(res, name, method);
    const problem = violation(body, model, signatures);
    if (problem) return invalid(res, problem);
    const result = answer(body, model, options, signatures);
    if (method === "streamGenerateContent") {
      const cut = cutNext;
      cutNext = false;
      return stream(res, url.searchParams.get("alt") === "sse", result, options, cut);
    }
    sendJson(res, 200, result.response);
  });
  return Object.assign(server, {
    baseUrl: `${server.origin}/v1beta`,
    options,
    cutNextStream: () => void (cutNext = true),
    generateRequests: () => server.requests.filter((r) => /:(stream)?[gG]enerateContent/.test(r.path)).map((r) => r.body as Json),
  });
}
