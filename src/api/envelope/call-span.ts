import type { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Role, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ErrorInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import type { CallReport } from "../../gateway/call-context.js";
import { ATTR, providerName } from "../../observability/genai-attributes.js";
import { cutMarker } from "../../observability/span-text.js";
import type { CallSpanEnd } from "../../observability/tracing.js";
import { maskLogExcerpt, maskLogText } from "../../providers/redact.js";
import type { CallRecord } from "./call-record.js";
import { withoutRequestText } from "./request-text.js";

const NOTHING: CallSpanEnd = { attributes: {} };

/**
 * Ends a call's span from its record, as its log line is written from it:
 * the GenAI attributes of what was served, the key and team, the gateway's
 * own (downgrade, cache, attempts, overhead) and the error. Message content
 * only when the call's route records it (SWITCHBOARD_TRACE_CONTENT), its
 * secrets masked; secrets never reach a record. The other texts a caller or a
 * vendor chose (models, ids) are masked where they are set on the span
 * (observability/span-text.ts). Nothing is built for a span that does not record.
 */
export function endCallSpan(record: CallRecord, error: ConnectError | undefined, overheadMs: number | undefined): void {
  const trace = record.trace;
  if (!trace.recording) return trace.end(NOTHING);
  const report = record.report;
  const budget = new ContentBudget();
  trace.end({
    attributes: {
      [ATTR.keyId]: record.principal?.keyId,
      [ATTR.team]: record.principal?.team || undefined,
      [ATTR.overheadMs]: overheadMs === undefined ? undefined : Math.round(overheadMs * 1000) / 1000,
      ...(report && servedAttributes(report)),
      ...(report?.content && trace.recordsContent ? contentAttributes(report.content, report.finishReason, budget) : undefined),
    },
    error: error && spanError(error, trace.recordsContent, budget),
    firstTokenAt: report?.firstTokenAt,
  });
}

/**
 * A failed call's error as its span records it. A vendor's error text may
 * quote the request ("your prompt was flagged: …"), so it is recorded only
 * where content is; otherwise the span says which vendor refused, and how.
 */
function spanError(error: ConnectError, recordsContent: boolean, budget: ContentBudget): CallSpanEnd["error"] {
  const info = error.findDetails(ErrorInfoSchema)[0];
  const type = info?.reason ?? codeToString(error.code);
  const provider = info?.metadata.provider;
  if (recordsContent) return { type, message: budget.attribute().text(error.rawMessage) };
  // The gateway's own words may still quote the request (a body that is not JSON): not that part.
  if (provider === undefined) return { type, message: withoutRequestText(error.rawMessage) };
  const status = info?.metadata.upstream_status;
  return { type, message: `provider "${provider}" failed the call (${type}${status ? `, HTTP ${status}` : ""}); its words are in the call's log line, not in traces` };
}

function servedAttributes(report: CallReport): CallSpanEnd["attributes"] {
  return {
    [ATTR.requestModel]: report.requestedModel,
    [ATTR.providerName]: report.provider === undefined ? undefined : providerName(report.provider),
    [ATTR.provider]: report.provider,
    [ATTR.responseModel]: report.model,
    [ATTR.responseId]: report.responseId,
    [ATTR.finishReasons]: report.finishReason === undefined ? undefined : [report.finishReason],
    [ATTR.inputTokens]: report.inputTokens,
    [ATTR.outputTokens]: report.outputTokens,
    [ATTR.downgraded]: report.downgraded,
    [ATTR.cacheResult]: report.cache,
    [ATTR.attempts]: report.attempts,
  };
}

const ROLES: Record<Role, string> = { [Role.UNSPECIFIED]: "user", [Role.SYSTEM]: "system", [Role.USER]: "user", [Role.ASSISTANT]: "assistant", [Role.TOOL]: "tool" };

/** The most characters of content one span attribute holds (the messages in, the messages out, the error). */
export const CONTENT_ATTRIBUTE_CHARS = 16 * 1024;
/** The most characters of content one span holds in all: a collector refuses a whole batch (everyone's spans) for one oversized span. */
export const SPAN_CONTENT_CHARS = 32 * 1024;

/**
 * What is left of a span's content budget, spent text by text: each text is
 * masked and cut to what is left (maskLogExcerpt: only a bounded window is
 * masked, so a 6 MB prompt costs no more than a 16 KiB one), with a marker
 * of how much was cut, so a span stays small whatever the caller sent.
 */
class ContentBudget {
  private spanLeft = SPAN_CONTENT_CHARS;
  private attributeMax = 0;
  private attributeLeft = 0;

  /** Starts an attribute: it holds at most CONTENT_ATTRIBUTE_CHARS of what is left of the span's, its texts that less MARKUP_ROOM. */
  attribute(): this {
    this.attributeMax = Math.min(CONTENT_ATTRIBUTE_CHARS, this.spanLeft);
    this.attributeLeft = Math.max(0, this.attributeMax - MARKUP_ROOM);
    return this;
  }

  /** `text` masked, and cut to what is left of the attribute, marked "…[N characters cut]". */
  text(text: string): string {
    const excerpt = maskLogExcerpt(text, this.attributeLeft);
    this.attributeLeft -= excerpt.text.length;
    this.spanLeft -= excerpt.text.length;
    return excerpt.cut === 0 ? excerpt.text : `${excerpt.text}${cutMarker(excerpt.cut)}`;
  }

  /** An attribute's JSON, its markup charged to the span too, and cut should it (many small messages, escapes) outgrow the attribute's share. */
  serialized(json: string): string {
    const texts = Math.max(0, this.attributeMax - MARKUP_ROOM) - this.attributeLeft;
    this.spanLeft = Math.max(0, this.spanLeft - Math.max(0, Math.min(json.length, this.attributeMax) - texts));
    if (json.length <= this.attributeMax) return json;
    return `${json.slice(0, this.attributeMax)}${cutMarker(json.length - this.attributeMax)}`;
  }
}

/** An attribute's room for its JSON markup and cut markers, kept from its texts: their JSON stays whole unless a call sends hundreds of messages. */
const MARKUP_ROOM = 1024;

/**
 * The messages in and out, in the GenAI conventions' JSON shape (role and
 * parts); images are named, never inlined. Every text through maskLogText,
 * as the log's fields are (no caller reads a span either): a prompt may hold
 * a key (an agent reads a .env file into a tool result, a user pastes a
 * config), and an answer may repeat it. Each attribute and the span's content
 * in all are capped (ContentBudget).
 */
function contentAttributes(content: NonNullable<CallReport["content"]>, finishReason: string | undefined, budget: ContentBudget): CallSpanEnd["attributes"] {
  budget.attribute();
  const input = budget.serialized(JSON.stringify(content.input.map((message) => ({ role: ROLES[message.role], parts: partsOf(message, budget) }))));
  if (content.output === undefined) return { [ATTR.inputMessages]: input };
  budget.attribute();
  const output = [{ role: "assistant", parts: [{ type: "text", content: budget.text(content.output) }], finish_reason: finishReason }];
  return { [ATTR.inputMessages]: input, [ATTR.outputMessages]: budget.serialized(JSON.stringify(output)) };
}

function partsOf(message: Message, budget: ContentBudget): object[] {
  const parts: object[] = [];
  if (message.content) parts.push({ type: "text", content: budget.text(message.content) });
  for (const part of message.parts) {
    if (part.part.case === "text") parts.push({ type: "text", content: budget.text(part.part.value) });
    else if (part.part.case === "imageUrl") parts.push({ type: "uri", modality: "image" });
  }
  for (const call of message.toolCalls) parts.push({ type: "tool_call", id: maskLogText(call.id), name: maskLogText(call.name), arguments: budget.text(call.arguments) });
  if (message.toolCallId) parts.push({ type: "tool_call_response", id: maskLogText(message.toolCallId) });
  return parts;
}
