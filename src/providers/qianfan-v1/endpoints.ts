// Which wenxinworkshop path serves which model. The v1 API names models by
// path, and a few older ones kept historical paths (ERNIE-4.0-8K lives at
// "completions_pro"); newer models use their lower-case name.

const CHAT_ENDPOINTS: Readonly<Record<string, string>> = {
  "ernie-4.0-8k": "completions_pro",
  "ernie-4.0-turbo-8k": "ernie-4.0-turbo-8k",
  "ernie-4.0-turbo-128k": "ernie-4.0-turbo-128k",
  "ernie-3.5-8k": "completions",
  "ernie-3.5-128k": "ernie-3.5-128k",
  "ernie-speed-8k": "ernie_speed",
  "ernie-speed-128k": "ernie-speed-128k",
  "ernie-speed-pro-128k": "ernie-speed-pro-128k",
  "ernie-lite-8k": "ernie-lite-8k",
  "ernie-lite-8k-0922": "eb-instant",
  "ernie-tiny-8k": "ernie-tiny-8k",
};

const EMBEDDING_ENDPOINTS: Readonly<Record<string, string>> = {
  "embedding-v1": "embedding-v1",
  "bge-large-zh": "bge_large_zh",
  "bge-large-en": "bge_large_en",
  "tao-8k": "tao_8k",
};

const PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop";

/** The chat path for a model; a model not in the table is assumed to live under its own lower-case name. */
export function chatPath(model: string): string {
  const name = model.toLowerCase();
  return `${PREFIX}/chat/${encodeURIComponent(CHAT_ENDPOINTS[name] ?? name)}`;
}

export function embeddingPath(model: string): string {
  const name = model.toLowerCase();
  return `${PREFIX}/embeddings/${encodeURIComponent(EMBEDDING_ENDPOINTS[name] ?? name)}`;
}

/** The models the table knows (v1 has no model list endpoint). */
export function knownModels(): { id: string; embeddings: boolean }[] {
  return [
    ...Object.keys(CHAT_ENDPOINTS).map((id) => ({ id, embeddings: false })),
    ...Object.keys(EMBEDDING_ENDPOINTS).map((id) => ({ id, embeddings: true })),
  ];
}
