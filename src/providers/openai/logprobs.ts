// Log probabilities of an answer's tokens in the OpenAI shape, both ways:
// read from a vendor's `choices[0].logprobs` (a whole answer's, or a chunk's
// share of them), and written for callers of the REST surface as the SDKs'
// ChatCompletionTokenLogprob.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Logprobs, TokenLogprob, TopLogprob } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import type { ChatParams } from "../provider.js";
import { vendorArray, vendorObject, vendorString } from "../vendor-fields.js";

/**
 * The most alternatives kept per token: OpenAI's own bound on
 * `top_logprobs`, which the gateway asks no more than. A vendor sending more
 * has the rest dropped, so that one token never holds more than this.
 */
export const MAX_TOP_LOGPROBS = 20;

/**
 * A choice's `logprobs` (absent or null: none). A token is one per place of
 * the answer, so a long answer has many: each is read into the unified
 * message once, as the very object create() would make (without create()'s
 * walk over the schema per token), and the vendor's JSON is let go.
 */
export function fromOpenAILogprobs(raw: unknown, path: string, ctx: ErrorContext): Logprobs | undefined {
  if (raw === undefined || raw === null) return undefined;
  const logprobs = vendorObject(raw, path, ctx);
  return {
    $typeName: "switchboard.v1.Logprobs",
    content: tokens(logprobs.content, `${path}.content`, ctx),
    refusal: tokens(logprobs.refusal, `${path}.refusal`, ctx),
  };
}

function tokens(raw: unknown, path: string, ctx: ErrorContext): TokenLogprob[] {
  return vendorArray(raw, path, ctx).map((item, i) => {
    const at = `${path}[${i}]`;
    const entry = vendorObject(item, at, ctx);
    const top = vendorArray(entry.top_logprobs, `${at}.top_logprobs`, ctx);
    const token: TokenLogprob = {
      $typeName: "switchboard.v1.TokenLogprob",
      token: vendorString(entry.token, `${at}.token`, ctx),
      logprob: logprobOf(entry.logprob, `${at}.logprob`, ctx),
      topLogprobs: top.slice(0, MAX_TOP_LOGPROBS).map((alternative, j) => topLogprob(alternative, `${at}.top_logprobs[${j}]`, ctx)),
    };
    const bytes = bytesOf(entry.bytes, `${at}.bytes`, ctx);
    if (bytes) token.bytes = bytes;
    return token;
  });
}

function topLogprob(raw: unknown, at: string, ctx: ErrorContext): TopLogprob {
  const entry = vendorObject(raw, at, ctx);
  const top: TopLogprob = { $typeName: "switchboard.v1.TopLogprob", token: vendorString(entry.token, `${at}.token`, ctx), logprob: logprobOf(entry.logprob, `${at}.logprob`, ctx) };
  const bytes = bytesOf(entry.bytes, `${at}.bytes`, ctx);
  if (bytes) top.bytes = bytes;
  return top;
}

function logprobOf(value: unknown, field: string, ctx: ErrorContext): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw badResponse(ctx, `sent ${field} that is not a number`);
  return value;
}

/** A token's UTF-8 bytes as a list of numbers 0-255; null (no bytes for this token) reads as unset. */
function bytesOf(value: unknown, field: string, ctx: ErrorContext): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  const list = vendorArray(value, field, ctx);
  const bytes = new Uint8Array(list.length);
  list.forEach((byte, i) => {
    if (typeof byte !== "number" || !Number.isInteger(byte) || byte < 0 || byte > 255) throw badResponse(ctx, `sent ${field} that is not a list of bytes`);
    bytes[i] = byte;
  });
  return bytes;
}

/** A choice's `logprobs` as OpenAI writes them: each list, or null where the answer has none of it (no refusal, or a refusal and no content). */
export function toOpenAILogprobs(logprobs: Logprobs): JsonObject {
  const { content, refusal } = logprobs;
  return {
    content: content.length > 0 || refusal.length === 0 ? content.map(toOpenAIToken) : null,
    refusal: refusal.length > 0 ? refusal.map(toOpenAIToken) : null,
  };
}

/** One token as OpenAI writes it (Chat Completions' ChatCompletionTokenLogprob; the Responses API's output_text Logprob is the same). */
export function toOpenAIToken(token: TokenLogprob): JsonObject {
  return { token: token.token, logprob: token.logprob, bytes: bytesJson(token.bytes), top_logprobs: token.topLogprobs.map(toOpenAITop) };
}

function toOpenAITop(top: TopLogprob): JsonObject {
  return { token: top.token, logprob: top.logprob, bytes: bytesJson(top.bytes) };
}

function bytesJson(bytes: Uint8Array | undefined): JsonValue {
  return bytes ? Array.from(bytes) : null;
}

/**
 * Log probabilities asked of a vendor of another dialect (`dialect`, serving
 * `model`): none comes back from it, and the answer would lack what was
 * asked with nothing to say so, so the request is refused (the caller's
 * field and why). Asking for none (false, 0) is no asking.
 */
export function logprobsRefusal(params: Pick<ChatParams, "logprobs" | "topLogprobs" | "fieldNames">, dialect: string | undefined, model: string): { field: string; reason: string } | undefined {
  if (dialect === undefined || dialect === "openai") return undefined;
  const field = logprobsAskedBy(params);
  if (!field) return undefined;
  return { field, reason: `${model} returns no log probabilities through the gateway (only models served in the OpenAI dialect do); leave it out, or call a model that does` };
}

/** The caller's field that asks for log probabilities (`logprobs`, or `top_logprobs` above 0); undefined when none does. */
export function logprobsAskedBy(params: Pick<ChatParams, "logprobs" | "topLogprobs" | "fieldNames">): string | undefined {
  return params.logprobs === true ? (params.fieldNames?.logprobs ?? "logprobs") : (params.topLogprobs ?? 0) > 0 ? "top_logprobs" : undefined;
}
