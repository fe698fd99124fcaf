// The typo `secret: env:<the key itself>` (or `vault:<the key>`, …) must not
// put the key in a CI or container log, an admin answer or the console: a
// reference whose name looks like a key, whatever its scheme, or cannot be a
// variable's (or a stored secret's), is refused without showing it, by the
// fingerprint the key shows everywhere else (audits L5, console M1).
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { parseSecretRef } from "../../src/config/config.js";
import { fingerprint } from "../../src/secrets/credential.js";
import { FileSecretSource } from "../../src/secrets/file-secret-source.js";
import { EnvSecretSource, SecretResolver, type SecretSource } from "../../src/secrets/secret-source.js";

/** Key-shaped names: OpenAI's, Anthropic's, Gemini's, a Qianfan AK, a Zhipu key, a hex key. */
const KEYS = [
  "sk-proj-Zq8vT3BlbkFJ1aB2cD3eF4gH5iJ6kL7",
  "sk-ant-api03-AbCdEfGh_IjKlMnOp-QrStUvWx",
  "AIzaSyD4f9K2mXo1pQ7rT8uV0wY3zA6bC5dE",
  "Hy5mB1dF6gJ0sU4eV8wP",
  "0f3a9c2e7b1d4f6a8c0e2b4d6f8a1c3e.AbCdEfGhIjKl",
  "a3f9c2e71b0d4f6a8c0e2b4d6f8a1c3e",
];

async function refusal(read: Promise<unknown>): Promise<Error> {
  try {
    await read;
  } catch (err) {
    return err as Error;
  }
  throw new Error("the reference was accepted");
}

/** A source of `scheme` that says whether it was asked. */
function recordingSource(scheme: SecretSource["scheme"]): SecretSource & { asked: number } {
  const source = {
    scheme,
    asked: 0,
    async resolve(): Promise<string> {
      source.asked++;
      return "value";
    },
  };
  return source;
}

function resolverOf(...sources: SecretSource[]): SecretResolver {
  return new SecretResolver(sources);
}

describe("a reference that holds a key", () => {
  it("is refused without showing it (env:), with its fingerprint instead", async () => {
    const env = resolverOf(new EnvSecretSource({}));
    for (const key of KEYS) {
      const err = await refusal(env.resolve(parseSecretRef(`env:${key}`)));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(`its fingerprint is #${fingerprint(key)}`);
      expect(err.message).toContain("must give the name of the environment variable that holds the key (env:OPENAI_API_KEY), never the key");
      for (let i = 0; i + 8 <= key.length; i += 4) expect(err.message).not.toContain(key.slice(i, i + 8));
    }
  });

  it("is refused even when the variable happens to be set", async () => {
    const key = "Hy5mB1dF6gJ0sU4eV8wP";
    await expect(resolverOf(new EnvSecretSource({ [key]: "x" })).resolve(parseSecretRef(`env:${key}`))).rejects.toThrow(/looks like a key itself/);
  });

  it("is refused (file:) before the encrypted store is opened, without showing it or suggesting `secrets set <key>`", async () => {
    let opened = false;
    const file = resolverOf(
      new FileSecretSource(() => {
        opened = true;
        throw new Error("not reached");
      }),
    );
    for (const key of KEYS) {
      const err = await refusal(file.resolve(parseSecretRef(`file:${key}`)));
      expect(err.message).toContain("must give the name of a stored secret (file:openai), never the key");
      expect(err.message).not.toContain("secrets set");
      for (let i = 0; i + 8 <= key.length; i += 4) expect(err.message).not.toContain(key.slice(i, i + 8));
    }
    expect(opened).toBe(false);
  });

  it("is refused for vault:, db: and aws-sm: too, before any source is asked, whether or not one is configured", async () => {
    const sources = [recordingSource("vault"), recordingSource("db"), recordingSource("aws-sm")];
    for (const resolver of [resolverOf(...sources), resolverOf()]) {
      for (const key of KEYS) {
        for (const raw of [`vault:${key}`, `vault:secret/switchboard/openai#${key}`, `db:${key}`, `aws-sm:${key}`, `aws-sm:switchboard/openai#${key}`]) {
          const err = await refusal(resolver.resolve(parseSecretRef(raw)));
          expect(err).toBeInstanceOf(ConfigError);
          expect(err.message).toMatch(/looks like a key itself; its fingerprint is #[0-9a-f]+\) must give the secret's (path|name)|must give the name of a secret in the database store/);
          for (let i = 0; i + 8 <= key.length; i += 4) expect(err.message).not.toContain(key.slice(i, i + 8));
        }
      }
    }
    expect(sources.map((source) => source.asked)).toEqual([0, 0, 0]);
    expect(await resolverOf(...sources).resolve(parseSecretRef("vault:secret/switchboard/openai#api_key"))).toBe("value");
    expect(await resolverOf(...sources).resolve(parseSecretRef("aws-sm:arn:aws:secretsmanager:us-east-1:123456789012:secret:switchboard/openai-AbCdEf#api_key"))).toBe("value");
  });

  it("a name that cannot be a variable's is refused, a proper one that is unset is named", async () => {
    const env = resolverOf(new EnvSecretSource({}));
    expect((await refusal(env.resolve(parseSecretRef("env:my-key")))).message).toMatch(/what follows "env:" cannot be an environment variable's name/);
    expect((await refusal(env.resolve(parseSecretRef("env:OPENAI_API_KEY_2025")))).message).toBe('environment: OPENAI_API_KEY_2025: is not set (referenced as "env:OPENAI_API_KEY_2025")');
    expect(await resolverOf(new EnvSecretSource({ ANTHROPIC_API_KEY: "v" })).resolve(parseSecretRef("env:ANTHROPIC_API_KEY"))).toBe("v");
  });
});
