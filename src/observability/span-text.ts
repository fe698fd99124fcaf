import type { Span } from "@opentelemetry/api";
import { cutText, maskLogExcerpt, maskLogText } from "../providers/redact.js";
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
 * made it; and every string within `maxChars`, the attribute value length
 * limit (attributeText). Nothing is built for a span that does not record.
 */
export function setSpanAttributes(span: Span, attributes: Readonly<Record<string, SpanAttributeValue | undefined>>, maxChars: number): void {
  if (!span.isRecording()) return;
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    const masks = !NOT_MASKED_HERE.has(name);
    if (typeof value === "string") span.setAttribute(name, attributeText(value, maxChars, masks));
    else span.setAttribute(name, Array.isArray(value) ? value.map((item) => attributeText(item, maxChars, masks)) : value);
  }
}

/** Room at the end of a cut attribute for its marker: "…[" and " characters cut]" around a string length's digits. */
const CUT_MARKER_ROOM = 32;
/** How far past the limit a text is still masked whole before it is cut: as cheap as maskLogExcerpt's window, and nothing read is dropped. */
const MASKED_WHOLE_PAST_LIMIT = 4 * 1024;

/** What ends a text cut short: how many of its characters were left out. */
export function cutMarker(cut: number): string {
  return `…[${cut} characters cut]`;
}

/**
 * A string as an attribute holds it: masked if `masks` (spanText), and at
 * most `maxChars` long, cut with a marker saying so where the SDK would cut
 * it silently (an operator's limit below what the gateway recorded, a text of
 * unforeseen length). A text far past the limit is masked only in a window a
 * little past the cut (maskLogExcerpt), so a megabyte costs no more than the limit.
 */
function attributeText(text: string, maxChars: number, masks: boolean): string {
  const whole = !masks ? text : text.length <= maxChars + MASKED_WHOLE_PAST_LIMIT ? spanText(text) : undefined;
  if (whole !== undefined && whole.length <= maxChars) return whole;
  // A limit too short to hold a marker too: cut as the SDK would.
  const marked = maxChars > CUT_MARKER_ROOM;
  const keep = marked ? maxChars - CUT_MARKER_ROOM : maxChars;
  const kept = whole !== undefined ? cutText(whole, keep) : maskLogExcerpt(text, keep).text;
  return marked ? `${kept}${cutMarker(Math.max(1, text.length - kept.length))}` : kept;
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
