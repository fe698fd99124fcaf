import { ChatDeltaSchema, type ChatStreamResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";

// Wire-format tags (field number << 3 | 2, a length-delimited field): ChatStreamResponse.delta,
// and ChatDelta's content, reasoning_content and refusal (proto/switchboard/v1/ai_service.proto).
const DELTA = 0x0a;
const CONTENT = 0x0a;
const REASONING_CONTENT = 0x1a;
const REFUSAL = 0x22;
const CHAT_DELTA = ChatDeltaSchema.typeName;

/**
 * Almost every event of a stream is a piece of text: this writes such an
 * event straight to protobuf's binary form, the very bytes protobuf-es's
 * toBinary writes (test/server/text-delta-encoding.test.ts holds it to them),
 * at a fraction of its cost per message. Returns undefined for any other
 * event (tool calls, reasoning blocks, the summary, unknown fields), which
 * toBinary encodes.
 */
export function encodeTextDelta(message: ChatStreamResponse): Uint8Array<ArrayBuffer> | undefined {
  const event = message.event;
  if (event.case !== "delta" || message.$unknown !== undefined) return undefined;
  const delta = event.value;
  // A message made with create() (as the lean path's stream makes them), not a plain object's partial fields.
  if (delta.$typeName !== CHAT_DELTA) return undefined;
  if (delta.toolCalls.length > 0 || delta.reasoning.length > 0 || delta.$unknown !== undefined) return undefined;
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
