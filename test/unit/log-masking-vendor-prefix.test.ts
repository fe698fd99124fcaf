// Every Anthropic key starts with the same 13 characters ("sk-ant-api03-"). Once the
// gateway knew one, the log masker replaced that prefix of any other Anthropic key in a
// log line with "[redacted]", and the rest of the other key, no longer shaped like a
// key, was logged in full (audit secrets F5).
import { describe, expect, it } from "vitest";
import { maskLogText, rememberSecret } from "../../src/providers/redact.js";

const KNOWN = "sk-ant-api03-KNOWNknownKNOWN0123456789-KnownKnownKnownKnown0123456789_KnownKnownKnown-AAAAAA";
const OTHER = "sk-ant-api03-OTHERotherOTHER9876543210-OtherOtherOtherOther9876543210_OtherOtherOther-BBBBBB";
/** The other key's own part: what must never reach a log line. */
const OTHER_BODY = OTHER.slice("sk-ant-api03-".length);

describe("log masking once a key of the same vendor is known", () => {
  rememberSecret(KNOWN);

  it("masks another key of that vendor whole, as it would with no key known", () => {
    const logged = maskLogText(`has no non-empty string field "api_key" (fields: ${OTHER})`);
    expect(logged).toBe('has no non-empty string field "api_key" (fields: sk-ant…)');
    for (let i = 0; i + 12 <= OTHER_BODY.length; i += 6) expect(logged).not.toContain(OTHER_BODY.slice(i, i + 12));
  });

  it("does not take the vendor's prefix for a piece of the known key", () => {
    expect(maskLogText("Anthropic keys start with sk-ant-api03-, then the key")).toBe("Anthropic keys start with sk-ant-api03-, then the key");
    // The same vendor prefix before something no key shape matches: left as it is, no part of it blanked.
    expect(maskLogText("sk-ant-api03-%%short")).toBe("sk-ant-api03-%%short");
  });

  it("still finds the known key, whole or in pieces of its own part", () => {
    expect(maskLogText(`key ${KNOWN} end`)).toBe("key [redacted] end");
    expect(maskLogText(`cut: ${KNOWN.slice(20, 50)}`)).toBe("cut: [redacted]");
    expect(maskLogText(`split: ${KNOWN.slice(13, 30)} ${KNOWN.slice(30, 60)}`)).toBe("split: [redacted] [redacted]");
  });
});
