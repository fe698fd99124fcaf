// A caller's W3C tracestate is continued on the gateway's spans, which go to
// a tracing service: an entry holding a key, or one of the gateway's own
// secrets or a piece of one (as log lines mask them: no caller reads a span),
// is dropped there, and W3C's bounds hold whatever the header's size. (That
// no vendor is sent it: traces.test.ts, against a real Jaeger.)
import { describe, expect, it } from "vitest";
import { callerTraceState } from "../../src/observability/caller-tracestate.js";
import { rememberOwnSecret } from "../../src/providers/redact.js";

const OWN_SECRET = "COLxxv8zPN1YXdpmI5lm/AIaxc8ReQC/V+va9gVdRSM=";

describe("the caller's tracestate", () => {
  it("keeps ordinary entries as they came, in order", () => {
    expect(callerTraceState("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    expect(callerTraceState("dd=s:1;o:rum;t.dm:-0")).toBe("dd=s:1;o:rum;t.dm:-0");
    expect(callerTraceState(" , ")).toBeUndefined();
  });

  it("drops an entry holding a key or one of the gateway's own secrets, whole or a piece of it, whatever its shape", () => {
    rememberOwnSecret(OWN_SECRET);
    const state = callerTraceState(`a=sk-sb-CALLERKEYabcdefghijklmnop123456,keep=1,b=${OWN_SECRET},c=${OWN_SECRET.slice(3, 30)}`);
    expect(state).toBe("keep=1");
    expect(callerTraceState(`b=${OWN_SECRET}`)).toBeUndefined();
    // The shortest piece log lines mask (12 characters), in any case, %-encoded too; 11 are an ordinary word.
    expect(callerTraceState(`c=x${OWN_SECRET.slice(14, 26)}y`)).toBeUndefined();
    expect(callerTraceState(`c=${OWN_SECRET.slice(14, 26).toUpperCase()}`)).toBeUndefined();
    expect(callerTraceState(`c=${encodeURIComponent(OWN_SECRET.slice(10, 30))}`)).toBeUndefined();
    expect(callerTraceState(`c=${OWN_SECRET.slice(14, 25)}`)).toBe(`c=${OWN_SECRET.slice(14, 25)}`);
  });

  it("holds to 32 entries and 512 characters, however long the header", () => {
    const many = Array.from({ length: 100 }, (_, i) => `k${i}=v${i}`).join(",");
    const kept = callerTraceState(many)!.split(",");
    expect(kept).toHaveLength(32);
    expect(kept[0]).toBe("k0=v0");
    const long = Array.from({ length: 100 }, (_, i) => `k${i}=${"v".repeat(100)}`).join(",");
    expect(callerTraceState(long)!.length).toBeLessThanOrEqual(512);
    expect(callerTraceState(`${"x".repeat(10_000)},k=v`)).toBeUndefined();
  });
});
