// A hostile vendor may echo the key encoded: base64, base64url, hex, or in
// another case. Each known secret is redacted in all of those forms, also
// inside a longer encoded text, before a caller, a log line or an operator
// sees the vendor's words.
import { describe, expect, it } from "vitest";
import { fromOpenAIHttpError } from "../../src/providers/openai/errors.js";
import { encodedForms, redactSecrets } from "../../src/providers/redact.js";
import { createCredential } from "../../src/secrets/credential.js";

// A key with no vendor prefix (Azure- or Mistral-style): only the known-secret pass can find it.
const KEY = "Zq7Vt0RMo3wXbN9cLp2EhYs6dKuJf8GiTa1W?x>";
const SECONDARY = "Baidu-secret-key-9f8e7d6c5b4a";
const credential = createCredential("vendor/test", KEY, SECONDARY);
const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");
const hex = (text: string) => Buffer.from(text).toString("hex");

/** Every way the tests echo a secret. */
function echoes(secret: string): [string, string][] {
  return [
    ["upper case", secret.toUpperCase()],
    ["lower case", secret.toLowerCase()],
    ["base64", b64(secret)],
    ["base64 without padding", b64(secret).replace(/=+$/, "")],
    ["base64url", b64url(secret)],
    ["hex", hex(secret)],
    ["upper-case hex", hex(secret).toUpperCase()],
    ["base64 of a bearer header", b64(`Bearer ${secret}`)],
    ["base64 of a JSON body", b64(JSON.stringify({ api_key: secret }))],
    ["base64url at offset 2", b64url(`xy${secret}!`)],
    ["base64 at offset 1", b64(`x${secret}`)],
  ];
}

/** Whether any recognisable piece of the secret's forms survives in `text`. */
function leaks(text: string, secret: string): string | undefined {
  const lower = text.toLowerCase();
  const pieces = [secret, hex(secret), b64(secret).slice(2, -4), b64url(secret).slice(2, -4), b64(`x${secret}`).slice(4, -4), b64(`xy${secret}`).slice(4, -4)];
  return pieces.find((piece) => lower.includes(piece.toLowerCase()));
}

describe("a known secret, echoed encoded", () => {
  it.each(echoes(KEY))("is redacted as %s", (_, echo) => {
    const out = redactSecrets(`Invalid authentication: ${echo} is not valid`, credential);
    expect(out).toContain("[redacted]");
    expect(leaks(out, KEY)).toBeUndefined();
    expect(out).toMatch(/^Invalid authentication: .*is not valid$/);
  });

  it.each(echoes(SECONDARY))("the secondary (and any other secret given) as %s", (_, echo) => {
    expect(leaks(redactSecrets(`bad pair: ${echo}`, credential), SECONDARY)).toBeUndefined();
    const token = "vendor-access-token-0123456789abcdef";
    expect(leaks(redactSecrets(`bad token: ${b64(token)}`, createCredential("v/t", "short-key-xxxx"), [token]), token)).toBeUndefined();
  });

  it("leaves the vendor's other words, and text that only looks encoded, alone", () => {
    for (const text of ["model gpt-4o not found", "request id 5a713756", "dGhlIHF1aWNrIGJyb3duIGZveA==", "the limit is 30000 tokens per minute"]) {
      expect(redactSecrets(text, credential)).toBe(text);
    }
  });

  it("compiles each secret's forms once, longest first, the whole form before its embedded parts", () => {
    const forms = encodedForms(KEY);
    expect(forms).toContain(KEY);
    expect(forms).toContain(hex(KEY));
    expect(forms).toContain(b64(KEY));
    expect(forms).toContain(b64url(KEY));
    expect(forms.map((f) => f.length)).toEqual([...forms.map((f) => f.length)].sort((a, b) => b - a));
    // A short secret gets its whole forms, not short embedded pieces that would blank ordinary text.
    expect(encodedForms("abcd")).toEqual(["61626364", "YWJjZA==", "YWJjZA", "abcd"]);
  });

  it("reaches the caller's message through a dialect's error parser", () => {
    const ctx = { provider: "vendor", credential };
    for (const [, echo] of echoes(KEY)) {
      const err = fromOpenAIHttpError(401, {}, JSON.stringify({ error: { message: `Incorrect API key provided: ${echo}`, code: b64(KEY) } }), ctx);
      expect(leaks(err.message, KEY)).toBeUndefined();
      expect(err.vendorCode).toBeUndefined();
      const bad = fromOpenAIHttpError(400, {}, JSON.stringify({ error: { message: `Your key ${echo} cannot use this model`, code: "model_not_found" } }), ctx);
      expect(leaks(bad.message, KEY)).toBeUndefined();
      expect(bad.vendorCode).toBe("model_not_found");
    }
  });
});
