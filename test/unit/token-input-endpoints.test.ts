// Which providers' embeddings take token ids: judged by dialect and endpoint,
// or by the operator's embed_token_inputs, never by the provider's name. No
// network: real vendor URLs are only parsed.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EmbedRequestSchema, TokenIdsSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema, type ConfigFile } from "../../src/config/schema.js";
import { takesTokenInputs } from "../../src/config/token-input-endpoints.js";
import type { ProviderRuntime } from "../../src/gateway/provider-runtime.js";
import { tokenInputCandidates } from "../../src/gateway/token-input-candidates.js";

const takes = (file: ConfigFile, env: NodeJS.ProcessEnv = {}) =>
  Object.fromEntries(buildConfig(file, env, "file").providers.map((provider) => [provider.name, provider.embedTokenInputs]));

describe("takesTokenInputs", () => {
  it("holds for the openai dialect at OpenAI's own API, regional hosts included", () => {
    expect(takesTokenInputs({ dialect: "openai", baseUrl: "https://api.openai.com/v1" })).toBe(true);
    expect(takesTokenInputs({ dialect: "openai", baseUrl: "https://eu.api.openai.com/v1" })).toBe(true);
    expect(takesTokenInputs({ dialect: "openai", baseUrl: "https://API.OpenAI.com./v1" })).toBe(true);
  });

  it("does not for another endpoint of the dialect, however its host is spelt", () => {
    for (const baseUrl of ["https://api.deepseek.com/v1", "http://127.0.0.1:8000/v1", "https://api.openai.com.example.net/v1", "https://notapi.openai.com/v1", "https://example.net/api.openai.com/v1"]) {
      expect(takesTokenInputs({ dialect: "openai", baseUrl }), baseUrl).toBe(false);
    }
  });

  it("follows the operator's word for the openai dialect, and never holds for another dialect", () => {
    expect(takesTokenInputs({ dialect: "openai", baseUrl: "http://127.0.0.1:8000/v1", declared: true })).toBe(true);
    expect(takesTokenInputs({ dialect: "openai", baseUrl: "https://api.openai.com/v1", declared: false })).toBe(false);
    expect(takesTokenInputs({ dialect: "gemini", baseUrl: "https://api.openai.com/v1" })).toBe(false);
  });
});

describe("embed_token_inputs in the configuration", () => {
  it("judges a provider by its base URL, not its name", () => {
    expect(takes({}, { OPENAI_API_KEY: "k" })).toEqual({ openai: true });
    // "openai" pointed at another vendor of the dialect.
    expect(takes({}, { OPENAI_API_KEY: "k", OPENAI_BASE_URL: "https://api.deepseek.com/v1" })).toEqual({ openai: false });
    const providers: ConfigFile["providers"] = {
      "openai-eu": { dialect: "openai", base_url: "https://eu.api.openai.com/v1", api_key: "env:K" },
      oai: { dialect: "openai", base_url: "https://api.openai.com/v1", api_key: "env:K" },
      openai: { base_url: "https://api.deepseek.com/v1", api_key: "env:K" },
    };
    expect(takes({ providers }, { K: "k" })).toEqual({ "openai-eu": true, oai: true, openai: false });
  });

  it("lets an operator declare an OpenAI-compatible endpoint that takes them, or one that does not", () => {
    const providers: ConfigFile["providers"] = {
      vllm: { base_url: "http://127.0.0.1:8000/v1", embed_token_inputs: true },
      local: { dialect: "openai", base_url: "http://127.0.0.1:9000/v1" },
      openai: { api_key: "env:K", embed_token_inputs: false },
    };
    expect(takes({ providers }, { K: "k" })).toEqual({ vllm: true, local: false, openai: false });
  });

  it("refuses the switch on a dialect that cannot send token ids, and a value that is not a boolean", () => {
    expect(() => buildConfig({ providers: { gemini: { api_key: "env:K", embed_token_inputs: true } } }, { K: "k" }, "file")).toThrow(
      /providers\.gemini\.embed_token_inputs: only the openai dialect sends token ids as embedding input; this provider's is "gemini"/,
    );
    expect(fileSchema.safeParse({ providers: { vllm: { base_url: "http://127.0.0.1:8000/v1", embed_token_inputs: "yes" } } }).success).toBe(false);
  });
});

describe("tokenInputCandidates", () => {
  const runtime = (dialect: string, embedTokenInputs?: boolean) => ({ adapter: { dialect }, embedTokenInputs }) as unknown as ProviderRuntime;
  const call = create(EmbedRequestSchema, { model: "m", tokenInputs: [create(TokenIdsSchema, { ids: [1, 2] })] });

  it("keeps the providers set to take them, whatever their names", () => {
    const providers = new Map([
      ["openai", runtime("openai", false)],
      ["oai", runtime("openai", true)],
    ]);
    const { candidates, refused, error } = tokenInputCandidates(
      call,
      [
        { provider: "openai", upstreamModel: "m" },
        { provider: "oai", upstreamModel: "m" },
      ],
      providers,
    );
    expect(error).toBeUndefined();
    expect(candidates.map((c) => c.provider)).toEqual(["oai"]);
    expect(refused.map((a) => [a.provider, a.outcome])).toEqual([["openai", "unsupported"]]);
  });

  it("tells a provider of another dialect that it takes texts only, without offering the switch", () => {
    const { error } = tokenInputCandidates(call, [{ provider: "gemini", upstreamModel: "text-embedding-004" }], new Map([["gemini", runtime("gemini")]]));
    expect(error?.rawMessage).toContain('served by provider "gemini" (text-embedding-004), whose API (dialect "gemini") takes texts only');
    expect(error?.rawMessage).not.toContain("embed_token_inputs");
  });
});
