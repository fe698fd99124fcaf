import type { ErrorContext } from "./codec.js";
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

/** A stream event's JSON data, or bad_response. */
export function eventJson(data: string, ctx: ErrorContext): unknown {
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
