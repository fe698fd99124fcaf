/** A vendor the gateway knows out of the box: where it lives and which models go to it. */
export interface ProviderPreset {
  /** Provider name, also the `<NAME>_API_KEY` / `<NAME>_BASE_URL` environment prefix in upper case. */
  name: string;
  dialect: string;
  defaultBaseUrl: string;
  /** Model globs routed to this provider by default. */
  modelPatterns: string[];
  /** Local servers (Ollama, vLLM) run without a key; they are enabled by their base URL. */
  keyless?: boolean;
  maxTokensField?: "max_tokens" | "max_completion_tokens";
}

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    name: "openai",
    dialect: "openai",
    defaultBaseUrl: "https://api.openai.com/v1",
    modelPatterns: ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "text-embedding-*"],
    maxTokensField: "max_completion_tokens",
  },
  { name: "deepseek", dialect: "openai", defaultBaseUrl: "https://api.deepseek.com/v1", modelPatterns: ["deepseek-*"] },
  { name: "moonshot", dialect: "openai", defaultBaseUrl: "https://api.moonshot.cn/v1", modelPatterns: ["moonshot-*", "kimi-*"] },
  { name: "zhipu", dialect: "openai", defaultBaseUrl: "https://open.bigmodel.cn/api/paas/v4", modelPatterns: ["glm-*", "embedding-*"] },
  { name: "qianfan", dialect: "openai", defaultBaseUrl: "https://qianfan.baidubce.com/v2", modelPatterns: ["ernie-*"] },
  {
    name: "dashscope",
    dialect: "openai",
    defaultBaseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    modelPatterns: ["qwen-*", "qwen2*", "qwen3*", "qwq-*", "text-embedding-v*"],
  },
  { name: "ollama", dialect: "openai", defaultBaseUrl: "http://127.0.0.1:11434/v1", modelPatterns: [], keyless: true },
  { name: "vllm", dialect: "openai", defaultBaseUrl: "http://127.0.0.1:8000/v1", modelPatterns: [], keyless: true },
];

export function presetFor(name: string): ProviderPreset | undefined {
  return PROVIDER_PRESETS.find((preset) => preset.name === name);
}
