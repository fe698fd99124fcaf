// A credential the pool does not have is refused with NotFound naming it as ListProviders does, and the
// credentials the pool has (the first 10): a runbook's `credentials/primary` run against a provider enabled
// by OPENAI_API_KEY, whose one key is `credentials/env`, says which name to use.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPoolError } from "../../src/secrets/key-pool.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { failure } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { adminClient } from "./support/admin.js";
import { testPool } from "./support/pool-fixtures.js";

function refusal(action: () => unknown): KeyPoolError {
  try {
    action();
  } catch (err) {
    if (err instanceof KeyPoolError) return err;
    throw err;
  }
  throw new Error("the action succeeded");
}

describe("a credential the pool does not have", () => {
  it("is refused naming the pool's credentials, at most 10, those in use before the retired", () => {
    const ids = Array.from({ length: 12 }, (_, i) => `k${String(i + 1).padStart(2, "0")}`);
    const { pool, credential } = testPool(ids.map((id) => ({ id })));
    pool.retire("openai/k01", "replaced by a rotation");
    const names = [...ids.slice(1, 11)].map((id) => `providers/openai/credentials/${id}`).join(", ");

    const replace = refusal(() => pool.stage({ credential: credential("next"), weight: 1, replaces: "openai/primary" }));
    expect(replace.code).toBe("not_found");
    expect(replace.message).toBe(
      `provider "openai" has no credential providers/openai/credentials/primary to replace; its credentials are ${names} and 2 more (ListProviders lists them)`,
    );
    const promote = refusal(() => pool.promote("openai/primary"));
    expect(promote.message).toBe(`provider "openai" has no credential providers/openai/credentials/primary; its credentials are ${names} and 2 more (ListProviders lists them)`);
  });

  describe("on a provider enabled by OPENAI_API_KEY", () => {
    let fake: OpenAIFake;
    let gw: TestGateway;
    beforeAll(async () => {
      fake = await startOpenAIFake({ apiKey: "sk-env-key-0123456789abcdef", extraKeys: ["sk-next-key-0123456789abcdef"] });
      gw = await startGateway({ OPENAI_API_KEY: "sk-env-key-0123456789abcdef", OPENAI_API_KEY_NEXT: "sk-next-key-0123456789abcdef", OPENAI_BASE_URL: fake.baseUrl });
    });
    afterAll(async () => {
      await gw?.stop();
      await fake?.close();
    });

    it("StageKey's replaces and DisableKey's name: NotFound, naming credentials/env", async () => {
      const admin = adminClient(gw);
      const staged = await failure(
        admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", replaces: "providers/openai/credentials/primary" }),
      );
      expect(staged.code).toBe(Code.NotFound);
      expect(staged.rawMessage).toBe('provider "openai" has no credential providers/openai/credentials/primary to replace; its credentials are providers/openai/credentials/env');

      const disabled = await failure(admin.disableKey({ name: "providers/openai/credentials/primary", reason: "leaked" }));
      expect(disabled.code).toBe(Code.NotFound);
      expect(disabled.rawMessage).toBe('provider "openai" has no credential providers/openai/credentials/primary; its credentials are providers/openai/credentials/env');

      // The name the message gives is the one that works.
      const next = await admin.stageKey({ parent: "providers/openai", credentialId: "next", secretRef: "env:OPENAI_API_KEY_NEXT", replaces: "providers/openai/credentials/env" });
      expect(next.credential?.name).toBe("providers/openai/credentials/next");
    });
  });
});
