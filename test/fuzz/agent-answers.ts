// How the agents' REST surfaces report a fault of the gateway's own (an
// error nobody classified: Internal or Unknown), read exactly as each writes
// it, so that the fuzz suite flags that and nothing a caller or vendor caused.

/** An answer as the test read it whole. */
export interface AgentAnswer {
  status: number;
  contentType: string;
  text: string;
}

interface ServerEvent {
  event: string;
  /** The parsed `data:`; undefined when it is not JSON. */
  data: any;
}

function serverEvents(text: string): ServerEvent[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.trim() !== "")
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      try {
        return { event, data: data === undefined ? undefined : JSON.parse(data) };
      } catch {
        return { event, data: undefined };
      }
    });
}

function jsonOf(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isStream = (answer: AgentAnswer) => answer.contentType.startsWith("text/event-stream");

/** Events whose data is not JSON, or a stream that stopped without its last event: the gateway broke off. */
function brokenStream(events: ServerEvent[], ends: readonly string[]): string | undefined {
  if (events.some((e) => e.data === undefined)) return "an event whose data is not JSON";
  const last = events.at(-1)?.event;
  return last !== undefined && ends.includes(last) ? undefined : `the stream ended after "${last ?? "nothing"}", not with ${ends.join(" or ")}`;
}

/**
 * `/v1/messages`: toAnthropicError (src/providers/anthropic/errors.ts) gives
 * the codes Anthropic has no status for (Internal, Unknown among them)
 * HTTP 500 and type `api_error`, Anthropic's own shape for its faults; once
 * a stream has begun, the same body as an `event: error`.
 */
export function anthropicFault(answer: AgentAnswer): string | undefined {
  if (answer.status === 500) return `HTTP 500: ${answer.text.slice(0, 300)}`;
  if (isStream(answer)) {
    const events = serverEvents(answer.text);
    const error = events.find((e) => e.event === "error");
    if (error?.data?.error?.type === "api_error") return `event: error ${JSON.stringify(error.data)}`;
    return brokenStream(events, ["message_stop", "error"]);
  }
  const body = jsonOf(answer.text);
  if (body?.type === "error" && body.error?.type === "api_error") return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  return answer.status === 200 && body === undefined ? `HTTP 200 with a body that is not JSON: ${answer.text.slice(0, 300)}` : undefined;
}

/** The ErrorInfo reasons, lowercased as toOpenAIError writes them in `code`, of a fault. */
const FAULT_CODES = new Set(["internal", "unknown"]);

/**
 * `/v1/responses`: toOpenAIError (src/providers/openai/errors.ts) answers
 * Internal and Unknown with HTTP 500 and `code` "internal" or "unknown";
 * once a stream has begun, an `error` event and `response.failed` carry it.
 */
export function responsesFault(answer: AgentAnswer): string | undefined {
  if (answer.status === 500) return `HTTP 500: ${answer.text.slice(0, 300)}`;
  if (isStream(answer)) {
    const events = serverEvents(answer.text);
    const failure = events.find((e) => (e.event === "error" && FAULT_CODES.has(e.data?.code)) || (e.event === "response.failed" && FAULT_CODES.has(e.data?.response?.error?.code)));
    if (failure) return `event: ${failure.event} ${JSON.stringify(failure.data)}`;
    return brokenStream(events, ["response.completed", "response.incomplete", "response.failed"]);
  }
  const body = jsonOf(answer.text);
  if (FAULT_CODES.has(body?.error?.code)) return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  return answer.status === 200 && body === undefined ? `HTTP 200 with a body that is not JSON: ${answer.text.slice(0, 300)}` : undefined;
}

/** The id of the response an answer says was stored, to continue, read and delete later. */
export function storedResponseId(answer: AgentAnswer): string | undefined {
  const response = isStream(answer)
    ? serverEvents(answer.text).find((e) => e.event === "response.completed" || e.event === "response.incomplete")?.data?.response
    : answer.status === 200
      ? jsonOf(answer.text)
      : undefined;
  return response?.object === "response" && response.store === true && typeof response.id === "string" ? response.id : undefined;
}
