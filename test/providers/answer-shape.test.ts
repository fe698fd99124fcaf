// jsonShapePast counts what JSON.parse would build, before it builds it: the
// objects and arrays, and the values (a comma each), outside strings only.
import { describe, expect, it } from "vitest";
import type { ErrorContext } from "../../src/providers/codec.js";
import { eventJson } from "../../src/providers/codec-errors.js";
import { jsonShapePast } from "../../src/providers/transport/answer-shape.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";

const past = (text: string, containers: number, values: number) => jsonShapePast(Buffer.from(text), { containers, values });

describe("jsonShapePast", () => {
  it("names the count that passes its limit first, and none within them", () => {
    expect(past('{"a":[{},{},{}]}', 4, 100)).toBe("containers");
    expect(past('{"a":[{},{},{}]}', 5, 100)).toBeUndefined();
    expect(past("[0,0,0,0,0,0,0,0,0,0]", 1, 9)).toBe("values");
    expect(past("[0,0,0,0,0,0,0,0,0,0]", 1, 10)).toBeUndefined();
  });

  it("counts nothing inside strings, escaped quotes and backslashes included", () => {
    const inside = `{"a":"[{,}]\\"[{,\\\\","b":"${"[,".repeat(40)}\\"${"{,".repeat(40)}"}`;
    expect(JSON.parse(inside)).toBeTypeOf("object");
    expect(past(inside, 1, 2)).toBeUndefined();
    // The same brackets after the string ends do count.
    expect(past(`["\\\\",[[[]]]]`, 3, 100)).toBe("containers");
    expect(past(`["\\\\",[[[]]]]`, 4, 100)).toBeUndefined();
  });

  it("stops counting at a string left open", () => {
    expect(past(`["${"x".repeat(100)}[[[[[[`, 1, 1)).toBeUndefined();
  });

  it("needs no scan for a text no longer than its limits", () => {
    expect(past("[[[[]]]]", 8, 8)).toBeUndefined();
    expect(past("[[[[]]]]", 3, 8)).toBe("containers");
  });
});

describe("a stream event's JSON", () => {
  const ctx = { provider: "openai", credential: { id: "c1" } } as unknown as ErrorContext;
  const refusal = (data: string) => {
    try {
      eventJson(data, ctx);
      return undefined;
    } catch (err) {
      return err as UpstreamError;
    }
  };

  it("is refused unparsed when it holds far more objects than any real event of its length", () => {
    const dense = `{"choices":[${"{},".repeat(40_000)}{}]}`;
    const error = refusal(dense);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error!.kind).toBe("bad_response");
    expect(error!.message).toContain("more JSON objects and arrays than one per 16 characters");
  });

  it("is parsed when long but real: a long text, or log probabilities (an object and an array per token)", () => {
    const text = JSON.stringify({ choices: [{ index: 0, delta: { content: "[{},".repeat(50_000) } }] });
    expect(refusal(text)).toBeUndefined();
    const token = { token: "ab", logprob: -0.1, bytes: [97, 98], top_logprobs: [] };
    const logprobs = JSON.stringify({ choices: [{ index: 0, delta: {}, logprobs: { content: Array.from({ length: 3_000 }, () => token) } }] });
    expect(logprobs.length).toBeGreaterThan(64 * 1024);
    expect(refusal(logprobs)).toBeUndefined();
  });

  it("is parsed uncounted when short, however dense", () => {
    expect(refusal(`[${"{},".repeat(1_000)}{}]`)).toBeUndefined();
  });
});
