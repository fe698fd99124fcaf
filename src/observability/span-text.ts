import type { Span } from "@opentelemetry/api";
import { maskLogExcerpt, maskLogText } from "../providers/redact.js";
import { ATTR } from "./genai-attributes.js";
import type { SpanAttributeValue } from "./tracing.js";

/**
 * Attributes whose strings the gateway made itself (its names for things,
 * ids it generated, names from its configuration), set as they are; and the
 * messages, masked as they were built (call-span.ts: within the content budget).
 */
const NOT_MASKED_HERE: ReadonlySet<string> = new Set([
  ATTR.operationName,
  ATTR.providerName,
  ATTR.provider,
  ATTR.keyId,
  ATTR.credentialId,
  ATTR.attemptReason,
  ATTR.attemptOutcome,
  ATTR.cacheResult,
  ATTR.errorType,
  ATTR.surface,
  ATTR.rpcSystem,
  ATTR.rpcMethod,
  ATTR.httpRoute,
  ATTR.inputMessages,
  ATTR.outputMessages,
]);

/**
 * A text a caller or a vendor chose (a model's name, a request id, an answer's
 * id) as a span may carry it, in an attribute or in its name: masked as log
 * lines mask it (maskLogText), pieces of the gateway's secrets included. Only
 * operators read spans, as they read log lines; a caller's answer is never
 * masked for a piece (holdsKnownSecret says why).
 */
export function spanText(text: string): string {
  return maskLogText(text);
}

/**
 * Sets `attributes` on `span`, every string not in NOT_MASKED_HERE through
 * spanText, so that an attribute added later is masked unless the gateway
 * made it. Nothing is built for a span that does not record.
 */
export function setSpanAttributes(span: Span, attributes: Readonly<Record<string, SpanAttributeValue | undefined>>): void {
  if (!span.isRecording()) return;
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    span.setAttribute(name, NOT_MASKED_HERE.has(name) ? value : masked(value));
  }
}

function masked(value: SpanAttributeValue): SpanAttributeValue {
  if (typeof value === "string") return spanText(value);
  return Array.isArray(value) ? value.map(spanText) : value;
}

/** The longest status message a span carries (an error message may quote megabytes of a caller's text). */
const MAX_STATUS_MESSAGE_CHARS = 1_024;

/**
 * An error's message as a span's status carries it: masked as spanText masks,
 * and cut (the SDK does not hold status messages to the attribute length
 * limit). Only a window a little past the cut is masked (maskLogExcerpt).
 */
export function spanStatusMessage(message: string): string {
  const excerpt = maskLogExcerpt(message, MAX_STATUS_MESSAGE_CHARS);
  return excerpt.cut === 0 ? excerpt.text : `${excerpt.text}…`;
}
