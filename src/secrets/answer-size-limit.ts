/**
 * The most bytes the gateway reads of one answer from a secret store: Vault
 * or OpenBao (logins, KV reads, Transit) and AWS (Secrets Manager, KMS). A
 * vendor key is a few hundred bytes, a KV secret or a page of AWS versions a
 * few KB, and AWS caps a secret at 64 KiB: an answer past 1 MiB comes from a
 * broken or hostile store or proxy, and reading on would cost the gateway
 * its memory (again at every refresh).
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The code a too-large answer's error carries (the AWS SDK's error, a VaultError's `code`). */
export const ANSWER_TOO_LARGE = "ANSWER_TOO_LARGE";

/** How an error message says it, after the source and the operation. */
export const ANSWER_TOO_LARGE_WORDS = `the answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB, the most the gateway reads of one answer from a secret store`;

export class AnswerTooLargeError extends Error {
  readonly code = ANSWER_TOO_LARGE;
  constructor() {
    super(ANSWER_TOO_LARGE_WORDS);
    this.name = "AnswerTooLargeError";
  }
}

/**
 * The bytes of an answer body (a Node stream or a web ReadableStream), read
 * to its end; one byte past `limit` stops the read (leaving the loop cancels
 * the stream, which closes the connection) and throws AnswerTooLargeError.
 */
export async function readAtMost(body: AsyncIterable<Uint8Array>, limit = MAX_ANSWER_BYTES): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new AnswerTooLargeError();
    chunks.push(chunk);
  }
  // An array of its own: the AWS SDK turns what its collector gives into its blob adapter (a new prototype), never a stream's chunk.
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
