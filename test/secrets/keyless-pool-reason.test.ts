import { describe, expect, it } from "vitest";
import { createCredential } from "../../src/secrets/credential.js";
import { KeyPool } from "../../src/secrets/key-pool.js";
import { failure } from "./support/pool-fixtures.js";

// A local server (vLLM, Ollama) started with --api-key answers 401 to a keyless provider's calls:
// /healthz must say it wants a key, not that the vendor disabled one there is none of to rotate.
describe("a keyless provider's 401, as /healthz and the pool's error say it", () => {
  it("says the calls were sent without a key, where a real key is 'disabled by the vendor'", () => {
    const keyless = new KeyPool("vllm", [{ credential: createCredential("vllm/none", ""), weight: 1 }]);
    keyless.report("vllm/none", failure("credential_rejected", { status: 401 }));
    expect(keyless.unusableReason()).toBe("no usable key: 1 sent without a key and refused by the vendor (HTTP 401)");
    expect(() => keyless.pick()).toThrow('provider "vllm" has no usable key right now (1 sent without a key and refused by the vendor)');

    const keyed = new KeyPool("openai", [{ credential: createCredential("openai/env", "sk-live-revoked-xxxxxxxxxxxxxxxx"), weight: 1 }]);
    keyed.report("openai/env", failure("credential_rejected", { status: 401 }));
    expect(keyed.unusableReason()).toBe("no usable key: 1 disabled by the vendor (HTTP 401)");
  });
});
