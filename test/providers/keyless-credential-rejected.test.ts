import { describe as suite, expect, it } from "vitest";
import { describe } from "../../src/providers/error-messages.js";
import { createCredential } from "../../src/secrets/credential.js";

// A vLLM or Ollama server started with --api-key answers 401 to the gateway's keyless calls:
// there is no credential to replace, only a key to give.
suite("a keyless provider's 401", () => {
  it("names the preset's key variable, not a credential that does not exist", () => {
    const message = describe("credential_rejected", "vllm", createCredential("vllm/env", ""), 401, "unauthorized");
    expect(message).toBe('provider "vllm" answered HTTP 401 to a call sent without a key: set VLLM_API_KEY (or providers.vllm.api_key in the config file)');
  });

  it("names the config file's api_key for a provider that is not a preset", () => {
    const message = describe("credential_rejected", "local", createCredential("local/none", ""), 401, "");
    expect(message).toBe('provider "local" answered HTTP 401 to a call sent without a key: set providers.local.api_key in the config file');
  });

  it("still asks an operator to replace a real key the vendor rejected", () => {
    const message = describe("credential_rejected", "openai", createCredential("openai/env", "sk-real"), 401, "");
    expect(message).toMatch(/rejected the gateway's credential "openai\/env" \(#[0-9a-f]{8}\); an operator must replace it/);
  });
});
