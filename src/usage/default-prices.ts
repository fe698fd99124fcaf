import type { ModelPrice } from "../config/usage-config.js";

const usd = (input: number, output: number, cachedInput?: number): ModelPrice => ({ input, output, cachedInput, currency: "USD" });
const cny = (input: number, output: number, cachedInput?: number): ModelPrice => ({ input, output, cachedInput, currency: "CNY" });

/**
 * List prices per million tokens of the well-known models of every vendor
 * Switchboard speaks to, as the vendors published them (standard tier, no
 * batch discount, the lowest context tier). The newest OpenAI, Anthropic and
 * Gemini rows were checked in November 2026 against several summaries of the
 * vendors' pricing pages (the pages themselves are out of reach here); the
 * Chinese vendors' rows are from their 2025 price lists. Prices change:
 * override or add models in `pricing.models`. A dated or suffixed model name
 * ("gpt-4o-mini-2024-07-18", "claude-3-5-haiku-20241022") takes the price of
 * the longest name here that it starts with.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  // OpenAI
  "gpt-5.5": usd(5, 30, 0.5),
  "gpt-5.5-pro": usd(30, 180),
  "gpt-5.4": usd(2.5, 15, 0.25),
  "gpt-5.4-pro": usd(30, 180),
  "gpt-5.4-mini": usd(0.75, 4.5, 0.075),
  "gpt-5.4-nano": usd(0.2, 1.25, 0.02),
  "gpt-5": usd(1.25, 10, 0.125),
  "gpt-5-mini": usd(0.25, 2, 0.025),
  "gpt-5-nano": usd(0.05, 0.4, 0.005),
  "gpt-4.1": usd(2, 8, 0.5),
  "gpt-4.1-mini": usd(0.4, 1.6, 0.1),
  "gpt-4.1-nano": usd(0.1, 0.4, 0.025),
  "gpt-4o": usd(2.5, 10, 1.25),
  "gpt-4o-mini": usd(0.15, 0.6, 0.075),
  "gpt-4-turbo": usd(10, 30),
  "gpt-4": usd(30, 60),
  "gpt-3.5-turbo": usd(0.5, 1.5),
  o1: usd(15, 60, 7.5),
  "o1-mini": usd(1.1, 4.4, 0.55),
  o3: usd(2, 8, 0.5),
  "o3-mini": usd(1.1, 4.4, 0.55),
  "o4-mini": usd(1.1, 4.4, 0.275),
  "text-embedding-3-small": usd(0.02, 0),
  "text-embedding-3-large": usd(0.13, 0),
  "text-embedding-ada-002": usd(0.1, 0),

  // Anthropic (cache reads at a tenth of the input price); Opus from 4.5 on costs a third of Opus 4.1
  "claude-opus-4-8": usd(5, 25, 0.5),
  "claude-opus-4-7": usd(5, 25, 0.5),
  "claude-opus-4-6": usd(5, 25, 0.5),
  "claude-opus-4-5": usd(5, 25, 0.5),
  "claude-sonnet-4-6": usd(3, 15, 0.3),
  "claude-opus-4-1": usd(15, 75, 1.5),
  "claude-opus-4": usd(15, 75, 1.5),
  "claude-sonnet-4-5": usd(3, 15, 0.3),
  "claude-sonnet-4": usd(3, 15, 0.3),
  "claude-haiku-4-5": usd(1, 5, 0.1),
  "claude-3-7-sonnet": usd(3, 15, 0.3),
  "claude-3-5-sonnet": usd(3, 15, 0.3),
  "claude-3-5-haiku": usd(0.8, 4, 0.08),
  "claude-3-opus": usd(15, 75, 1.5),
  "claude-3-haiku": usd(0.25, 1.25, 0.03),

  // Google Gemini (prompts up to 200k tokens)
  "gemini-3-pro": usd(2, 12, 0.2),
  "gemini-3-flash": usd(0.5, 3, 0.05),
  "gemini-2.5-pro": usd(1.25, 10, 0.31),
  "gemini-2.5-flash": usd(0.3, 2.5, 0.075),
  "gemini-2.5-flash-lite": usd(0.1, 0.4, 0.025),
  "gemini-2.0-flash": usd(0.1, 0.4, 0.025),
  "gemini-2.0-flash-lite": usd(0.075, 0.3),
  "gemini-1.5-pro": usd(1.25, 5),
  "gemini-1.5-flash": usd(0.075, 0.3),
  "gemini-embedding-001": usd(0.15, 0),
  "text-embedding-004": usd(0, 0),

  // DeepSeek (cache hits at the cache-hit input price)
  "deepseek-chat": usd(0.27, 1.1, 0.07),
  "deepseek-reasoner": usd(0.55, 2.19, 0.14),

  // Moonshot (Kimi)
  "moonshot-v1-8k": cny(2, 10),
  "moonshot-v1-32k": cny(5, 20),
  "moonshot-v1-128k": cny(10, 30),
  "kimi-k2": cny(4, 16, 1),
  "kimi-latest": cny(2, 10, 1),

  // Zhipu (GLM)
  "glm-4.5": cny(2, 8),
  "glm-4.5-air": cny(0.8, 2),
  "glm-4-plus": cny(5, 5),
  "glm-4-air": cny(0.5, 0.5),
  "glm-4-flash": cny(0, 0),
  "embedding-3": cny(0.5, 0),

  // Baidu Qianfan (ERNIE)
  "ernie-4.5-turbo-128k": cny(0.8, 3.2),
  "ernie-4.0-turbo-8k": cny(20, 60),
  "ernie-4.0-8k": cny(30, 90),
  "ernie-3.5-8k": cny(0.8, 2),
  "ernie-speed-128k": cny(0, 0),
  "ernie-lite-8k": cny(0, 0),

  // Alibaba DashScope (Qwen)
  "qwen-max": cny(2.4, 9.6),
  "qwen-plus": cny(0.8, 2),
  "qwen-turbo": cny(0.3, 0.6),
  "qwen-long": cny(0.5, 2),
  "text-embedding-v3": cny(0.5, 0),
  "text-embedding-v2": cny(0.7, 0),
};
