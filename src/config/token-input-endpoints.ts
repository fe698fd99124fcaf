// Whether a provider's embeddings take token ids as `input` (int[] and
// int[][]): judged by what the provider is, never by its name. OpenAI's own
// API does, as its reference documents; the other vendors of its dialect
// document texts only (Zhipu, Qianfan v2, DashScope's compatible mode), and
// ids are a tokenizer's: tiktoken's mean nothing to another model. A server
// that does take them (vLLM) is declared so by its operator.

/** OpenAI's API hosts: api.openai.com and its regional ones (eu.api.openai.com, for data residency). */
function isOpenAIsOwnHost(baseUrl: string): boolean {
  let host: string;
  try {
    // A trailing dot names the same host.
    host = new URL(baseUrl).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  return host === "api.openai.com" || host.endsWith(".api.openai.com");
}

/**
 * The operator's `embed_token_inputs` when set; otherwise true only for the
 * openai dialect at OpenAI's own endpoint. Only that dialect's codec sends
 * token ids at all.
 */
export function takesTokenInputs(provider: { dialect: string; baseUrl: string; declared?: boolean }): boolean {
  if (provider.dialect !== "openai") return false;
  return provider.declared ?? isOpenAIsOwnHost(provider.baseUrl);
}
