// Masking never throws on caller text of any length (a 6 MB hex prompt once overflowed V8's regexp stack and killed
// the gateway from endCallSpan), and a content-traced span stays small whatever the caller sent.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CONTENT_ATTRIBUTE_CHARS, SPAN_CONTENT_CHARS, endCallSpan } from "../../src/api/envelope/call-span.js";
import type { CallRecord } from "../../src/api/envelope/call-record.js";
import type { CallSpanEnd } from "../../src/observability/tracing.js";
import { maskKeys, maskLogExcerpt, maskLogText, redactSecrets } from "../../src/providers/redact.js";

const SIX_MB = 6_000_000;
const KEY = "sk-proj-AbCdEf0123456789GhIjKlMnOp";

describe("masking text of any length", () => {
  const runs: Record<string, string> = {
    hex: "0123456789abcdef".repeat(SIX_MB / 16),
    "one letter": "Z".repeat(SIX_MB),
    "sk- run": `sk-${"a".repeat(SIX_MB)}`,
    "sk- dashes": `sk-${"-_".repeat(SIX_MB / 2)}`,
    "gsk_ run": `gsk_${"a".repeat(SIX_MB)}`,
    "key- run": `key-${"a".repeat(SIX_MB)}`,
    base64: "QUJD+/".repeat(SIX_MB / 6),
    dashes: "-".repeat(SIX_MB),
    underscores: "_".repeat(SIX_MB),
    "Bearer run": `Bearer ${"a".repeat(SIX_MB)}`,
  };
  for (const [name, run] of Object.entries(runs)) {
    it(`returns for a 6 MB ${name}, with a key before and after it masked`, () => {
      const text = `${KEY} ${run} ${KEY}`;
      for (const mask of [maskKeys, maskLogText, (t: string) => redactSecrets(t)]) {
        const out = mask(text);
        expect(out).not.toContain(KEY);
        expect(out.length).toBeGreaterThan(0);
      }
    });
  }

  it("masks a key-shaped run longer than the patterns' cap whole, as it masked a short one", () => {
    const long = `sk-${"Ab1".repeat(1000)}`;
    expect(maskKeys(`x ${long} y`)).toBe("x sk-Ab1… y");
    const bare = "Ab1".repeat(1000);
    expect(maskKeys(`x ${bare} y`)).toBe("x Ab1Ab1… y");
    expect(maskKeys(`x ${"ab1".repeat(1000)} y`)).toBe(`x ${"ab1".repeat(1000)} y`);
    expect(redactSecrets(`token=${"a".repeat(1000)} ok`)).toBe("[redacted] ok");
  });

  it("masks a key that straddles an excerpt's end before cutting it", () => {
    const text = `${"word ".repeat(20)}${KEY}${" tail".repeat(1000)}`;
    for (let max = 90; max < 140; max += 3) {
      const excerpt = maskLogExcerpt(text, max);
      expect(excerpt.text.length).toBeLessThanOrEqual(max);
      expect(excerpt.cut).toBeGreaterThan(0);
      expect(excerpt.text).not.toMatch(/AbCdEf0123/);
    }
  });
});

function contentTracedRecord(prompt: string, output: string, ends: CallSpanEnd[]): CallRecord {
  const trace = { recording: true, recordsContent: true, end: (end: CallSpanEnd) => ends.push(end) };
  const content = { input: [create(MessageSchema, { role: Role.USER, content: prompt }), create(MessageSchema, { role: Role.USER, content: prompt })], output };
  return { trace, report: { content, finishReason: "stop" } } as unknown as CallRecord;
}

describe("a content-traced span's size", () => {
  it("caps each content attribute and the span's content in all, marking what was cut", () => {
    const ends: CallSpanEnd[] = [];
    endCallSpan(contentTracedRecord("0123456789abcdef".repeat(SIX_MB / 16), `${KEY} ${"hello world ".repeat(500_000)}`, ends), undefined, 1);
    const attributes = ends[0]!.attributes;
    const input = String(attributes["gen_ai.input.messages"]);
    const output = String(attributes["gen_ai.output.messages"]);
    expect(input.length).toBeLessThanOrEqual(CONTENT_ATTRIBUTE_CHARS);
    expect(output.length).toBeLessThanOrEqual(CONTENT_ATTRIBUTE_CHARS);
    expect(input.length + output.length).toBeLessThanOrEqual(SPAN_CONTENT_CHARS);
    expect(input).toMatch(/characters cut\]/);
    expect(output).toMatch(/characters cut\]/);
    expect(output).not.toContain(KEY);
    // Still the conventions' JSON: cut texts, not cut markup.
    expect(JSON.parse(input)).toHaveLength(2);
  });

  it("keeps a small call's content whole", () => {
    const ends: CallSpanEnd[] = [];
    endCallSpan(contentTracedRecord("hi", "hello", ends), undefined, 1);
    expect(JSON.parse(String(ends[0]!.attributes["gen_ai.output.messages"]))).toEqual([{ role: "assistant", parts: [{ type: "text", content: "hello" }], finish_reason: "stop" }]);
  });
});
