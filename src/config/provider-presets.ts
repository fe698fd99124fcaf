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
  /** The vendor's other APIs, by the `<NAME>_MODE` value that selects one instead of the default. */
  modes?: Record<string, PresetApi>;
  /** The `<NAME>_MODE` value that names the default API. */
  defaultMode?: string;
  /** The API used when a key pair `<NAME>_AK` + `<NAME>_SK` is set instead of `<NAME>_API_KEY`. */
  keyPairApi?: PresetApi;
  /** Headers filled from the environment: header name → `<NAME>_<suffix>` variable suffix. */
  envHeaders?: Record<string, string>;
  /** The most texts the vendor embeds in one request (whichever of its APIs); its dialect's limit otherwise. */
  embedBatchSize?: number;
}

/** One of a vendor's APIs: the dialect it speaks and where it lives. */
export interface PresetApi {
  dialect: string;
  defaultBaseUrl: string;
}

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    name: "openai",
    dialect: "openai",
    defaultBaseUrl: "https://api.openai.com/v1",
    modelPatterns: ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "text-embedding-*"],
  },
  { name: "deepseek", dialect: "openai", defaultBaseUrl: "https://api.deepseek.com/v1", modelPatterns: ["deepseek-*"] },
  { name: "moonshot", dialect: "openai", defaultBaseUrl: "https://api.moonshot.cn/v1", modelPatterns: ["moonshot-*", "kimi-*"] },
  { name: "zhipu", dialect: "openai", defaultBaseUrl: "https://open.bigmodel.cn/api/paas/v4", modelPatterns: ["glm-*", "embedding-2", "embedding-3"], embedBatchSize: 64 },
  {
    name: "qianfan",
    dialect: "openai",
    defaultBaseUrl: "https://qianfan.baidubce.com/v2",
    // Its embedding models by name: a glob such as `embedding-*` would also take Zhipu's.
    modelPatterns: ["ernie-*", "embedding-v1", "bge-large-zh", "bge-large-en", "tao-8k"],
    envHeaders: { appid: "APPID" },
    embedBatchSize: 16,
    // The legacy wenxinworkshop API; its token endpoint is on the same origin.
    keyPairApi: { dialect: "qianfan-v1", defaultBaseUrl: "https://aip.baidubce.com" },
  },
  {
    name: "dashscope",
    dialect: "dashscope",
    defaultBaseUrl: "https://dashscope.aliyuncs.com/api/v1",
    modelPatterns: ["qwen-*", "qwen2*", "qwen3*", "qwq-*", "text-embedding-v*"],
    defaultMode: "native",
    embedBatchSize: 10,
    modes: { compatible: { dialect: "openai", defaultBaseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1" } },
  },
  { name: "anthropic", dialect: "anthropic", defaultBaseUrl: "https://api.anthropic.com", modelPatterns: ["claude-*"] },
  {
    name: "gemini",
    dialect: "gemini",
    defaultBaseUrl: "https://generativelanguage.googleapis.com/v1beta",
    modelPatterns: ["gemini-*", "text-embedding-004", "gemini-embedding-*"],
  },
  { name: "ollama", dialect: "openai", defaultBaseUrl: "http://127.0.0.1:11434/v1", modelPatterns: [], keyless: true },
  { name: "vllm", dialect: "openai", defaultBaseUrl: "http://127.0.0.1:8000/v1", modelPatterns: [], keyless: true },
];

/** Texts per embedding request by wire dialect, for vendors without a limit of their own here. */
const DIALECT_EMBED_BATCH: Record<string, number> = { openai: 2048, gemini: 100, dashscope: 10, "qianfan-v1": 16 };

export function embedBatchSize(preset: ProviderPreset | undefined, dialect: string): number {
  return preset?.embedBatchSize ?? DIALECT_EMBED_BATCH[dialect] ?? 2048;
}

export function presetFor(name: string): ProviderPreset | undefined {
  return PROVIDER_PRESETS.find((preset) => preset.name === name);
}

/** The default base URL of whichever of the preset's APIs speaks `dialect` (the preset's own when none does). */
export function presetBaseUrl(preset: ProviderPreset, dialect: string): string {
  const apis = [preset, ...(preset.keyPairApi ? [preset.keyPairApi] : []), ...Object.values(preset.modes ?? {})];
  return (apis.find((api) => api.dialect === dialect) ?? preset).defaultBaseUrl;
}

/** What switches a provider on, for a caller told it is not configured: its variables, or the config file's providers. */
export function howToEnable(name: string): string {
  const preset = presetFor(name);
  const prefix = name.toUpperCase();
  if (!preset) return `declare provider "${name}" under providers in the config file`;
  if (preset.keyless) return `set ${prefix}_BASE_URL to its server`;
  if (preset.keyPairApi) return `set ${prefix}_API_KEY, or ${prefix}_AK and ${prefix}_SK`;
  return `set ${prefix}_API_KEY`;
}
