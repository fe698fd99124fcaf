import { ChatDeltaSchema, type ChatDelta, type ChatStreamResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";

// Wire-format tags (field number << 3 | 2, a length-delimited field): ChatStreamResponse.delta,
// and ChatDelta's content, reasoning_content and refusal (proto/switchboard/v1/ai_service.proto).
const DELTA = 0x0a;
const CONTENT = 0x0a;
const REASONING_CONTENT = 0x1a;
const REFUSAL = 0x22;
const CHAT_DELTA = ChatDeltaSchema.typeName;

/**
 * Almost every event of a stream is a piece of text: these write such an
 * event straight to protobuf's binary form and to its JSON form, the very
 * bytes connect-es's serializations write (test/server/text-delta-encoding.test.ts
 * holds them to those), at a fraction of their cost per message. Each returns
 * undefined for any other event (tool calls, reasoning blocks, log
 * probabilities, the first delta's identity, a piece of a reasoning summary, the summary, unknown fields),
 * which connect-es's serialization encodes.
 */
export function encodeTextDelta(message: ChatStreamResponse): Uint8Array<ArrayBuffer> | undefined {
  const delta = textDeltaOf(message);
  if (!delta) return undefined;
  // Buffer's UTF-8 writes a lone surrogate as U+FFFD, as protobuf-es's TextEncoder does.
  const content = Buffer.byteLength(delta.content);
  const reasoning = Buffer.byteLength(delta.reasoningContent);
  const refusal = Buffer.byteLength(delta.refusal);
  const inner = fieldLength(content) + fieldLength(reasoning) + fieldLength(refusal);
  const out = Buffer.allocUnsafe(1 + varintLength(inner) + inner);
  out[0] = DELTA;
  let at = writeVarint(out, 1, inner);
  at = writeField(out, at, CONTENT, delta.content, content);
  at = writeField(out, at, REASONING_CONTENT, delta.reasoningContent, reasoning);
  writeField(out, at, REFUSAL, delta.refusal, refusal);
  return out;
}

/** The JSON form: fields by their JSON names, in the proto's order, empty ones left out (proto3's canonical JSON). */
export function encodeTextDeltaJson(message: ChatStreamResponse): Uint8Array<ArrayBuffer> | undefined {
  const delta = textDeltaOf(message);
  if (!delta) return undefined;
  const fields: string[] = [];
  if (delta.content !== "") fields.push(`"content":${JSON.stringify(delta.content)}`);
  if (delta.reasoningContent !== "") fields.push(`"reasoningContent":${JSON.stringify(delta.reasoningContent)}`);
  if (delta.refusal !== "") fields.push(`"refusal":${JSON.stringify(delta.refusal)}`);
  // JSON.stringify escapes lone surrogates: the text is well-formed, and its UTF-8 is TextEncoder's.
  return Buffer.from(`{"delta":{${fields.join(",")}}}`);
}

/** The event's delta when it holds text alone, in a message made with create() (not a plain object's partial fields). */
function textDeltaOf(message: ChatStreamResponse): ChatDelta | undefined {
  const event = message.event;
  if (event.case !== "delta" || message.$unknown !== undefined) return undefined;
  const delta = event.value;
  if (delta.$typeName !== CHAT_DELTA || delta.toolCalls.length > 0 || delta.reasoning.length > 0 || delta.reasoningSummarized || delta.$unknown !== undefined) return undefined;
  // Fields with presence: set on a stream's first delta, or when log probabilities were asked for.
  if (delta.logprobs !== undefined || delta.id !== undefined || delta.vendorModel !== undefined || delta.systemFingerprint !== undefined || delta.serviceTier !== undefined) return undefined;
  return delta;
}

/** A proto3 string field takes no bytes when empty. */
function fieldLength(bytes: number): number {
  return bytes === 0 ? 0 : 1 + varintLength(bytes) + bytes;
}

function writeField(out: Buffer, at: number, tag: number, text: string, bytes: number): number {
  if (bytes === 0) return at;
  out[at] = tag;
  at = writeVarint(out, at + 1, bytes);
  out.write(text, at, bytes, "utf8");
  return at + bytes;
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) (value = Math.floor(value / 0x80)), length++;
  return length;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}
