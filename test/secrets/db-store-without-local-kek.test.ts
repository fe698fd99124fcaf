// `secrets set --store db` on a gateway started without SWITCHBOARD_SECRET_KEY: the refusal
// says the gateway must be restarted with it (the CLI's shell is the wrong place), and does
// not speak of the encrypted secrets file, which is not involved.
import { describe, expect, it } from "vitest";
import { DbSecretError, DbSecretStore } from "../../src/secrets/db-secret-store.js";
import { LocalKek } from "../../src/secrets/kek-local.js";
import type { SqlDatabase } from "../../src/store/sql.js";

describe("the database store on a gateway without a local key-encryption key", () => {
  it("tells the operator to restart the gateway with SWITCHBOARD_SECRET_KEY or another KEK", async () => {
    const store = new DbSecretStore({} as SqlDatabase, () => LocalKek.fromEnv({}, undefined));
    const err = await store.create("openai-prod", "sk-up", "admin").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DbSecretError);
    expect(err).toMatchObject({ code: "failed_precondition" });
    const message = (err as Error).message;
    expect(message).toContain("this gateway was started without SWITCHBOARD_SECRET_KEY");
    expect(message).toContain("restart it with SWITCHBOARD_SECRET_KEY");
    expect(message).toContain("SWITCHBOARD_SECRET_KEK");
    expect(message).not.toContain("encrypted secrets file");
  });
});
