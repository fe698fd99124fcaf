import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
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
 * A rough token count for when a vendor reports none (textTokens: about 4
 * characters a token, one a character for Chinese, Japanese and Korean text,
 * the prompt's and the answer's alike): better than recording zero for budgets.
 */
export function estimateUsage(params: Pick<ChatParams, "messages">, completion: string): Usage {
  return estimatedUsage(params, textTokens(completion));
}

/**
 * estimateUsage of an answer known only by its estimated tokens (a stream's, whose text is not kept: the sum of
 * textTokens of its pieces, fractional, rounded once here as the prompt's are).
 */
export function estimatedUsage(params: Pick<ChatParams, "messages">, completionTokens: number): Usage {
  const promptTokens = Math.ceil(promptTextTokens(params)) + PER_MESSAGE_TOKENS * params.messages.length;
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
 * the call: no tokenizer makes more tokens than characters of text (CJK text
 * is about one token a character, where the 4-characters rule would be far
 * too low), plus the tools' schemas, plus the most the answer may be.
 */
export function boundTokens(params: Pick<ChatParams, "messages" | "maxTokens" | "tools" | "vendorOptions">): number {
  return promptBoundTokens(params) + (params.maxTokens ?? UNBOUNDED_COMPLETION_TOKENS);
}

/**
 * The prompt's part of boundTokens: its text, its images, the tools' schemas,
 * the messages' framing, and the vendor options, which reach the model too
 * (Anthropic's `system`, OpenAI's `prediction`): left out, text sent there
 * passed budgets and token limits uncounted.
 */
export function promptBoundTokens(params: Pick<ChatParams, "messages" | "tools" | "vendorOptions">, imageTokens = UNKNOWN_IMAGE_TOKENS): number {
  let chars = promptChars(params);
  for (const tool of params.tools) chars += tool.name.length + tool.description.length + (tool.parameters ? JSON.stringify(tool.parameters).length : 0);
  if (params.vendorOptions) chars += JSON.stringify(params.vendorOptions).length;
  return chars + PER_MESSAGE_TOKENS * params.messages.length + imageCount(params) * imageTokens;
}

function imageCount(params: Pick<ChatParams, "messages">): number {
  let images = 0;
  for (const message of params.messages) for (const part of message.parts) if (part.part.case === "imageUrl") images++;
  return images;
}

/** Embedding calls: the estimate (for rate limits) and the bound (for budgets) of their input tokens. */
export function embedTokens(params: Pick<EmbedParams, "inputs">): { estimated: number; bound: number } {
  let chars = 0;
  for (const input of params.inputs) chars += input.length;
  return { estimated: Math.ceil(chars / 4), bound: chars };
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

/** The prompt's text in estimated tokens (fractional, summed before rounding). */
function promptTextTokens(params: Pick<ChatParams, "messages">): number {
  let tokens = 0;
  for (const message of params.messages) {
    tokens += textTokens(message.content);
    for (const part of message.parts) if (part.part.case === "text") tokens += textTokens(part.part.value);
    for (const call of message.toolCalls) tokens += (call.name.length + call.arguments.length) / 4;
  }
  return tokens;
}

function promptChars(params: Pick<ChatParams, "messages">): number {
  let chars = 0;
  for (const message of params.messages) {
    chars += message.content.length;
    for (const part of message.parts) if (part.part.case === "text") chars += part.part.value.length;
    for (const call of message.toolCalls) chars += call.name.length + call.arguments.length;
  }
  return chars;
}
