import type { JsonValue } from "@bufbuild/protobuf";
import { badRequest } from "../../common/bad-request.js";

/**
 * How `/v1/embeddings` writes vectors: "float" as JSON arrays (OpenAI's
 * default), "base64" as little-endian float32 bytes. The OpenAI SDKs ask for
 * base64 unless the caller chose (openai-node and openai-python both decode
 * it as float32), so answering floats to them yields garbage vectors.
 */
export type EmbeddingEncoding = "float" | "base64";

/** The request's `encoding_format`; anything but the two OpenAI defines is refused, naming the field. */
export function embeddingEncodingOf(body: unknown): EmbeddingEncoding {
  const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>).encoding_format : undefined;
  if (value === undefined || value === null) return "float";
  if (value === "float" || value === "base64") return value;
  throw badRequest({ field: "encoding_format", description: 'must be "float" or "base64"' });
}

export function encodeEmbedding(values: number[], encoding: EmbeddingEncoding): JsonValue {
  if (encoding === "float") return values;
  const bytes = new DataView(new ArrayBuffer(values.length * Float32Array.BYTES_PER_ELEMENT));
  for (const [i, value] of values.entries()) bytes.setFloat32(i * Float32Array.BYTES_PER_ELEMENT, value, true);
  return Buffer.from(bytes.buffer).toString("base64");
}
