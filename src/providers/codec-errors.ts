import type { ErrorContext } from "./codec.js";
import { jsonShapePast } from "./transport/answer-shape.js";
import { UpstreamError } from "./upstream-error.js";

/** A vendor answer the gateway cannot understand. */
export function badResponse(ctx: ErrorContext, what: string): UpstreamError {
  return new UpstreamError({ kind: "bad_response", provider: ctx.provider, credentialId: ctx.credential.id, message: `provider "${ctx.provider}" ${what}` });
}

/** A stream that closed before the vendor's end marker: the answer may be missing its tail. */
export function streamCutShort(ctx: ErrorContext): UpstreamError {
  return new UpstreamError({
    kind: "unreachable",
    provider: ctx.provider,
    credentialId: ctx.credential.id,
    message: `provider "${ctx.provider}" ended the stream before the answer was complete`,
  });
}

/** Parses JSON, or undefined when the text is not JSON (vendors' error pages sometimes are HTML). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Events up to this many characters are parsed uncounted: at most a few thousand objects, a millisecond of parsing. */
const UNCOUNTED_EVENT_CHARS = 64 * 1024;

/**
 * The objects and arrays a longer event may hold: one per 16 characters
 * beyond a thousand. The densest real events (log probabilities: an object
 * and an array per alternative token) take 25 characters or more for each;
 * `{},` takes 3, and 8 MiB of it built 190 MB and held the event loop 1.7 s,
 * event after event.
 */
function eventShapeLimit(chars: number): { containers: number; values: number } {
  return { containers: 1024 + Math.floor(chars / 16), values: Number.POSITIVE_INFINITY };
}

/** A stream event's JSON data, or bad_response; one holding far more objects than its length carries in any real event is not parsed. */
export function eventJson(data: string, ctx: ErrorContext): unknown {
  if (data.length > UNCOUNTED_EVENT_CHARS && jsonShapePast(Buffer.from(data), eventShapeLimit(data.length))) {
    throw badResponse(ctx, `sent a stream event of ${data.length} characters holding more JSON objects and arrays than one per 16 characters, which no real event does`);
  }
  const parsed = parseJson(data);
  if (parsed === undefined) throw badResponse(ctx, "sent a stream event that is not JSON");
  return parsed;
}

/** Whether a JSON value is an object: every vendor answer and stream event is one, so anything else is unreadable. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A stream event's data as a JSON object, or bad_response. */
export function eventObject(data: string, ctx: ErrorContext): Record<string, unknown> {
  const parsed = eventJson(data, ctx);
  if (!isJsonObject(parsed)) throw badResponse(ctx, "sent a stream event that is not JSON");
  return parsed;
}
