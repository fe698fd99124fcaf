import type { Credential } from "../secrets/credential.js";
import type { UpstreamHttpClient, UpstreamResponse } from "./http-client.js";
import { UpstreamError } from "./upstream-error.js";

/** A vendor answer the gateway cannot understand. */
export function badResponse(provider: string, credential: Credential, what: string): UpstreamError {
  return new UpstreamError({ kind: "bad_response", provider, credentialId: credential.id, message: `provider "${provider}" ${what}` });
}

/** A stream that closed before the vendor's end marker: the answer may be missing its tail. */
export function streamCutShort(provider: string, credential: Credential): UpstreamError {
  return new UpstreamError({
    kind: "unreachable",
    provider,
    credentialId: credential.id,
    message: `provider "${provider}" ended the stream before the answer was complete`,
  });
}

/** Reads a whole answer body as text; a socket failure or the caller's abort becomes an UpstreamError. */
export async function readText(http: UpstreamHttpClient, res: UpstreamResponse, call: { signal: AbortSignal; credential: Credential }): Promise<string> {
  try {
    return await res.body.text();
  } catch (err) {
    throw http.classify(err, { signal: call.signal, credentialId: call.credential.id });
  }
}

/** Parses JSON, or undefined when the text is not JSON (vendors' error pages sometimes are HTML). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether an answer's content type is JSON (as opposed to an event stream). */
export function isJsonResponse(res: Pick<UpstreamResponse, "headers">): boolean {
  const type = res.headers["content-type"];
  return /\bjson\b/i.test(Array.isArray(type) ? (type[0] ?? "") : (type ?? ""));
}

/** Reads a whole JSON answer: a socket failure is classified like any transport failure, a body that is not JSON is bad_response. */
export async function readJson<T>(http: UpstreamHttpClient, res: UpstreamResponse, call: { signal: AbortSignal; credential: Credential }): Promise<T> {
  const parsed = parseJson(await readText(http, res, call));
  if (parsed === undefined) throw badResponse(http.provider, call.credential, "answered with a body that is not JSON");
  return parsed as T;
}
