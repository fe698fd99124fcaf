/**
 * The most of one answer the gateway keeps, shared by the pipeline and the
 * codecs: a broken or hostile vendor must not make either hold unbounded
 * amounts. Past any of these the answer is the vendor's bad_response.
 */

/**
 * The most characters of one streamed answer kept: 8 Mi (about 2M tokens,
 * far beyond what any model writes). The gateway bounds the text and tool
 * calls it keeps by it (src/gateway/gateway.ts); a codec that keeps parts of
 * an answer to hand on whole at the end (Anthropic's signed thinking blocks)
 * bounds those by it too. A stream nothing keeps holds an event at a time,
 * and is bounded only by its max_tokens (the gateway's MOST_CHARS_PER_TOKEN).
 */
export const MAX_STREAMED_ANSWER_CHARS = 8 * 1024 * 1024;

/** The most tool calls of one answer: a tool call's index must be below it. Models call a handful at once; 128 is OpenAI's tool limit. */
export const MAX_TOOL_CALLS = 128;

/** The most reasoning (thinking and redacted thinking) blocks of one answer kept: about two per tool call, interleaved thinking included. */
export const MAX_REASONING_BLOCKS = 256;

/** The most content blocks of one streamed answer a decoder tracks (text, tool calls, thinking, server tools). */
export const MAX_CONTENT_BLOCKS = 1024;
