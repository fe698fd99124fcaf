import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Message, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { anthropicOriginal } from "../providers/anthropic/original-request.js";
import { unreadForwardedJson } from "../providers/anthropic/unread-fields.js";
import type { ChatParams, EmbedParams } from "../providers/provider.js";
import type { Candidate } from "./router.js";

/**
 * Completion tokens a call may produce when the caller sets no max_tokens and
 * the model catalogue knows no limit of the model: the bound a budget
 * reserves. 16,384 is the largest default output of the common chat models.
 */
export const UNBOUNDED_COMPLETION_TOKENS = 16_384;

/**
 * The most tokens one image may cost when the model catalogue names no rule for the model: Qwen-VL's
 * documented most (16,384, high-resolution images), above the tile and patch rules of OpenAI's, Anthropic's
 * and Gemini's current models. An image's bytes say nothing of its cost (a one-colour PNG may be 2048 px
 * square), so a budget reserves the most a vendor could bill.
 */
export const UNKNOWN_IMAGE_TOKENS = 16_384;

/** Tokens a message costs beyond its text (role and framing), by the vendors' own accounts. */
const PER_MESSAGE_TOKENS = 3;

/**
 * The vendor's usage, when it is the vendor's word on the answer; undefined
 * when the gateway must estimate. A usage that counts nothing at all for an
 * answer that said something (text, reasoning, a tool call or a refusal) is
 * a vendor that did not count (a Qianfan v1 stream may end on a 0/0 chunk),
 * not a free answer: it is estimated, and said to be, as a missing one is.
 * Nothing counted for an empty answer stands.
 */
export function reportedUsage(usage: Usage | undefined, answered: boolean): Usage | undefined {
  if (usage === undefined || !answered) return usage;
  const { promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, cacheWriteTokens, cacheWrite1hTokens } = usage;
  const countsNothing = [promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, cacheWriteTokens, cacheWrite1hTokens].every((count) => count === 0);
  return countsNothing ? undefined : usage;
}

/** Whether an answer said anything: text, reasoning, a tool call or a refusal. */
export function saysAnything(message: { content: string; toolCalls: readonly unknown[]; reasoningContent: string; refusal: string }): boolean {
  return message.content !== "" || message.toolCalls.length > 0 || message.reasoningContent !== "" || message.refusal !== "";
}

/**
 * Tokens one image is estimated at when the vendor reports no usage: a typical count, where UNKNOWN_IMAGE_TOKENS is the
 * most a budget reserves. A 1024x1024 image, a common size, costs 765 at OpenAI's high detail (85 + 4 tiles of 170),
 * 1,032 at Gemini's (4 tiles of 768 px at 258), about 1,280 at Qwen-VL's (28 px patches, its default most) and about
 * 1,400 at Anthropic's (width x height / 750): 1,100 is about their mean.
 */
export const ESTIMATED_IMAGE_TOKENS = 1_100;

/**
 * What of a chat call reaches the model as its prompt: the messages, the tools' schemas, the response schema, the
 * vendor options, and the caller's own body where its dialect's vendor gets it as written (absent: none).
 */
export type ChatPrompt = Pick<ChatParams, "messages"> & Partial<Pick<ChatParams, "tools" | "vendorOptions" | "responseFormat" | "original">>;

/** What an answer generated: its text, reasoning, refusal and tool calls (names and arguments). */
export type GeneratedAnswer = Pick<Message, "content" | "reasoningContent" | "refusal" | "toolCalls">;

/**
 * A rough token count for when a vendor reports none (textTokens: about 4
 * characters a token, one a character for Chinese, Japanese and Korean text,
 * the prompt's and the answer's alike): better than recording zero for budgets.
 * The prompt is counted as promptBoundTokens counts it (tools, vendor options
 * and images too), and the answer's tool calls count as its text does: an agent's
 * answer may be all tool call.
 */
export function estimateUsage(params: ChatPrompt, answer: GeneratedAnswer): Usage {
  let tokens = textTokens(answer.content) + textTokens(answer.reasoningContent) + textTokens(answer.refusal);
  for (const call of answer.toolCalls) tokens += toolCallTokens(call.name, call.arguments);
  return estimatedUsage(params, tokens);
}

/** Estimated tokens of a tool call, or of a streamed fragment of one: its name and its arguments. */
export function toolCallTokens(name: string, args: string): number {
  return textTokens(name) + textTokens(args);
}

/**
 * estimateUsage of an answer known only by its estimated tokens (a stream's, whose text is not kept: the sum of
 * textTokens of its pieces, fractional, rounded once here as the prompt's are).
 */
export function estimatedUsage(params: ChatPrompt, completionTokens: number): Usage {
  const promptTokens = promptTokensBy(params, textTokens, ESTIMATED_IMAGE_TOKENS);
  const completion = Math.ceil(completionTokens);
  return create(UsageSchema, { promptTokens, completionTokens: completion, totalTokens: promptTokens + completion });
}

/**
 * The tokens a token rate limit takes as a call is admitted: the budget's
 * bound (`bound`, or `boundFor` each candidate where the catalogue knows its
 * model), at the candidate that could use the most; reconciled with the
 * vendor's count when the call ends. An estimate (a few hundred tokens for a
 * call with no max_tokens) let a burst of such calls through that used many
 * times the limit at once. The limiter takes at most a minute's allowance
 * (`tokensTaken`), so a call bound to more than that is still admitted, alone,
 * when the key's allowance is full.
 */
export function rateLimitTokens(candidates: readonly Candidate[], bound: number, boundFor?: (candidate: Candidate) => number): number {
  if (!boundFor || candidates.length === 0) return bound;
  return Math.max(...candidates.map(boundFor));
}

/**
 * An upper bound of a chat call's tokens, for the budget to reserve before
 * the call: the prompt's bound (promptBoundTokens), plus the most the answer
 * may be.
 */
export function boundTokens(params: ChatPrompt & Pick<ChatParams, "maxTokens">): number {
  return promptBoundTokens(params) + (params.maxTokens ?? UNBOUNDED_COMPLETION_TOKENS);
}

/**
 * The prompt's part of boundTokens: everything of the request a codec writes
 * into the vendor's prompt. Its text, its images, the tools' schemas, the
 * response schema, the messages' framing, names and tool call ids, the
 * reasoning each turn carries back, the vendor options (Anthropic's `system`,
 * OpenAI's `prediction`), and what Claude gets of a `/v1/messages` body as
 * written (a tool's input_examples): each left out was a field a caller put
 * megabytes in, billed by the vendor and passed budgets and token limits
 * uncounted. Each text counts its UTF-8 bytes (utf8Tokens). Stop sequences
 * and the end user's id are sent but not billed: not counted.
 */
export function promptBoundTokens(params: ChatPrompt, imageTokens = UNKNOWN_IMAGE_TOKENS): number {
  return promptTokensBy(params, utf8Tokens, imageTokens);
}

/**
 * The most tokens a text can make: its UTF-8 bytes. The vendors' tokenizers
 * are byte-level BPE, or SentencePiece falling back to bytes, so no token is
 * less than a byte; a character is not a bound (Braille, Runic or Yi cost
 * OpenAI's tokenizers 3 tokens a character: a call counted a token a character
 * spent three times its reservation). CJK text, 3 bytes a character, is
 * reserved at up to three times its usual count, and given back at settling.
 */
function utf8Tokens(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * The prompt's tokens, its texts counted by `tokensOf` (summed, then rounded up once), each image at `imageTokens`, and
 * each message's framing: the one account of what a prompt holds, for the bound and the estimate alike.
 */
function promptTokensBy(params: ChatPrompt, tokensOf: (text: string) => number, imageTokens: number): number {
  let tokens = 0;
  let images = 0;
  for (const message of params.messages) {
    tokens += tokensOf(message.content) + tokensOf(message.name) + tokensOf(message.toolCallId) + tokensOf(message.refusal);
    for (const part of message.parts) {
      if (part.part.case === "text") tokens += tokensOf(part.part.value);
      else if (part.part.case === "imageUrl") images++;
    }
    for (const call of message.toolCalls) tokens += tokensOf(call.id) + tokensOf(call.name) + tokensOf(call.arguments);
    tokens += reasoningTokensBy(message, tokensOf);
  }
  for (const tool of params.tools ?? []) tokens += tokensOf(tool.name) + tokensOf(tool.description) + (tool.parameters ? tokensOf(JSON.stringify(tool.parameters)) : 0);
  const format = params.responseFormat;
  // A schema reaches the model as the vendor's structured output, a tool's input schema (Claude) or a system message (request fitting).
  if (format?.schema) tokens += tokensOf(format.schemaName) + tokensOf(JSON.stringify(format.schema));
  if (params.vendorOptions) tokens += tokensOf(JSON.stringify(params.vendorOptions));
  const anthropic = anthropicOriginal(params.original);
  if (anthropic) for (const field of unreadForwardedJson(anthropic.body)) tokens += tokensOf(field);
  return Math.ceil(tokens) + PER_MESSAGE_TOKENS * params.messages.length + images * imageTokens;
}

/**
 * A turn's reasoning as a vendor gets it back: as text (`reasoning_content`,
 * DeepSeek's), or as its blocks whole (Anthropic's thinking with its
 * signature, encrypted reasoning), never both; the larger is counted. The
 * caller writes either, unsigned, as large as the body may be.
 */
function reasoningTokensBy(message: Message, tokensOf: (text: string) => number): number {
  let blocks = 0;
  for (const block of message.reasoning) blocks += tokensOf(block.text) + tokensOf(block.signature) + tokensOf(block.redacted);
  return Math.max(tokensOf(message.reasoningContent), blocks);
}

/** Embedding calls: the estimate (for rate limits) and the bound (for budgets) of their input tokens; exact, both, for token arrays. */
export function embedTokens(params: Pick<EmbedParams, "inputs"> & Partial<Pick<EmbedParams, "tokenInputs">>): { estimated: number; bound: number } {
  if (params.tokenInputs?.length) {
    const exact = params.tokenInputs.reduce((sum, tokens) => sum + tokens.ids.length, 0);
    return { estimated: exact, bound: exact };
  }
  let chars = 0;
  let bytes = 0;
  for (const input of params.inputs) {
    chars += input.length;
    bytes += utf8Tokens(input);
  }
  return { estimated: Math.ceil(chars / 4), bound: bytes };
}

/** Characters a tokenizer makes about one token each: CJK ideographs, kana, hangul, full-width forms. */
const DENSE_SCRIPT = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/;
const DENSE_SCRIPT_ALL = new RegExp(DENSE_SCRIPT.source, "g");

/**
 * About how many tokens a text makes, fractional: a quarter a character, one for each character of a dense script (a
 * plain scan when there is none). The one count of text the estimates use, for prompts and answers alike: an answer in
 * Chinese counted at a quarter a character was recorded at a quarter of what the vendor bills.
 */
export function textTokens(text: string): number {
  if (!DENSE_SCRIPT.test(text)) return text.length / 4;
  const dense = text.match(DENSE_SCRIPT_ALL)!.length;
  return dense + (text.length - dense) / 4;
}
