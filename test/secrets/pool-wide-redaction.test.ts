// A vendor's error may quote any key of the pool, not just the attempt's own,
// and not only whole: cut short, split by a space, %-encoded. Every key of
// every pool is redacted, whole, in what the caller sees; in the log line,
// every piece of one of 12 characters or more too (audit L7). Not in what the
// caller sees: a vendor echoes what a caller sent, and a caller must not
// learn whether its text held a piece of a secret (partial-secret-oracle.test.ts).
// Keys shaped like Zhipu's and Qianfan's match no generic pattern, so only
// this finds them.
import { describe, expect, it } from "vitest";
import { fromOpenAIHttpError } from "../../src/providers/openai/errors.js";
import { maskLogText, redactSecrets } from "../../src/providers/redact.js";
import { createCredential } from "../../src/secrets/credential.js";

const ZHIPU = "0f3a9c2e7b1d4f6a8c0e2b4d6f8a1c3e.AbCdEfGhIjKlMnOp";
const QIANFAN = "Hy5mB1dF6gJ0sU4eV8wPqR2t";
const own = createCredential("zhipu/primary", "a7Kq2Lm9Np4Rs6Tv8Wx1Yz3B");
createCredential("zhipu/secondary", ZHIPU);
createCredential("qianfan/primary", QIANFAN);

/** The vendor's answer to an attempt with `own`, as a caller would see its message. */
function seen(message: string): string {
  return fromOpenAIHttpError(400, {}, JSON.stringify({ error: { message, type: "invalid_request_error", code: null } }), { provider: "zhipu", credential: own }).message;
}

describe("a vendor's message quoting a key of the pool", () => {
  it("another key than the attempt's, whole", () => {
    expect(seen(`key [x] and ${QIANFAN}`)).toBe('provider "zhipu": key [x] and [redacted]');
    expect(seen(`bad key ${ZHIPU} for org`)).toBe('provider "zhipu": bad key [redacted] for org');
  });

  it("cut short, or split by a space into pieces of 12 characters or more: in the log line", () => {
    const logged = (message: string) => maskLogText(seen(message));
    expect(logged(`key ${QIANFAN.slice(0, -1)}!`)).toBe('provider "zhipu": key [redacted]!');
    expect(logged(`key ${QIANFAN.slice(1)}`)).toBe('provider "zhipu": key [redacted]');
    expect(logged(`key ${QIANFAN.slice(0, 12)} ${QIANFAN.slice(12)}.`)).toBe('provider "zhipu": key [redacted] [redacted].');
    expect(logged(`key ${ZHIPU.slice(0, 20)}…`)).toBe('provider "zhipu": key [redacted]…');
    expect(logged(`k=${ZHIPU.slice(22, 32)}%2e${ZHIPU.slice(33, 45)}`)).toBe('provider "zhipu": k=[redacted]');
    // The caller's message is told from no other by a piece.
    expect(seen(`key ${QIANFAN.slice(1)}`)).toBe(`provider "zhipu": key ${QIANFAN.slice(1)}`);
  });

  it("%-encoded, in any case", () => {
    const encoded = [...QIANFAN].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    expect(seen(`https://x/?k=${encoded}&a=1`)).toBe('provider "zhipu": https://x/?k=[redacted]&a=1');
    expect(seen(`https://x/?k=${encoded.toUpperCase()}`)).toBe('provider "zhipu": https://x/?k=[redacted]');
    expect(seen(`k=${encodeURIComponent(ZHIPU).replace(".", "%2E")}`)).toBe('provider "zhipu": k=[redacted]');
  });

  it("leaves short pieces and ordinary words alone", () => {
    expect(seen(`model glm-4-plus does not exist; key ends with ${QIANFAN.slice(-4)}`)).toBe(`provider "zhipu": model glm-4-plus does not exist; key ends with ${QIANFAN.slice(-4)}`);
    expect(redactSecrets("100% of 200%zz requests")).toBe("100% of 200%zz requests");
  });
});
