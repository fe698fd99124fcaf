/**
 * Span attribute names: OpenTelemetry's GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, still
 * "development" status, so written here rather than imported from the
 * incubating entry point) and the gateway's own, under `switchboard.`.
 */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  finishReasons: "gen_ai.response.finish_reasons",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  /** Opt-in only (SWITCHBOARD_TRACE_CONTENT): the messages sent and the answer, as JSON. */
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
  errorType: "error.type",
  httpStatus: "http.response.status_code",
  rpcSystem: "rpc.system",
  rpcMethod: "rpc.method",
  httpRoute: "http.route",

  requestId: "switchboard.request_id",
  surface: "switchboard.surface",
  keyId: "switchboard.key.id",
  team: "switchboard.key.team",
  cacheResult: "switchboard.cache.result",
  downgraded: "switchboard.downgraded",
  attempts: "switchboard.attempts",
  overheadMs: "switchboard.overhead_ms",
  credentialId: "switchboard.credential.id",
  attemptReason: "switchboard.attempt.reason",
  attemptOutcome: "switchboard.attempt.outcome",
  hedged: "switchboard.attempt.hedged",
  provider: "switchboard.provider",
} as const;

/** gen_ai.operation.name for each kind of call the pipeline serves. */
export function operationName(kind: string): string {
  return kind === "embed" ? "embeddings" : "chat";
}

/**
 * The convention's well-known value where the provider's name here differs
 * from it (openai, anthropic, deepseek match already); vendors the convention
 * does not list are named as configured (switchboard.provider always is).
 */
const WELL_KNOWN_PROVIDERS: Record<string, string> = { gemini: "gcp.gemini" };

export function providerName(provider: string): string {
  return WELL_KNOWN_PROVIDERS[provider] ?? provider;
}
