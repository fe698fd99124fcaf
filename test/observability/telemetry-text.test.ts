// What the gateway's own telemetry writes of text it did not choose: a
// request that does not decode is described, never quoted (JSON.parse and
// protobuf-es quote the caller's text in their errors), and a log line holds
// no raw C1 control character (a vendor's words may carry an 8-bit CSI, which
// JSON leaves as it is).
import { describe, expect, it } from "vitest";
import { withoutRequestText } from "../../src/api/envelope/request-text.js";
import { callLineLogger, createLogger } from "../../src/observability/logger.js";
import { LogCapture } from "../support/gateway.js";

describe("an undecodable request's error, as telemetry records it", () => {
  const told = (why: string, what = "message switchboard.v1.ChatRequest") => withoutRequestText(`cannot decode ${what} from JSON: ${why}`);
  const described = (why: string, what = "message switchboard.v1.ChatRequest") => `cannot decode ${what} from JSON: ${why} (the request's text is in the caller's answer only)`;

  it("says the body is not JSON, not what JSON.parse quoted of it", () => {
    expect(told(`Unexpected token 'P', "PATIENT Jo"... is not valid JSON`)).toBe(described("the body is not valid JSON"));
    expect(told(`Unexpected non-whitespace character after JSON at position 2 (line 1 column 3)`)).toBe(described("the body is not valid JSON"));
  });

  it("names the field and the kind it expected, not the value, nor an unknown key or enum value", () => {
    const field = "field switchboard.v1.ChatRequest.max_tokens";
    expect(told(`expected number (int32), got "PATIENT John"`, field)).toBe(described("expected number (int32), got another value", field));
    expect(told(`expected object but got "PATIENT John"`)).toBe(described("expected object, got another value"));
    expect(told(`key "patient_john_doe" is unknown`)).toBe(described("a value it does not take"));
    expect(told(`"PATIENT John Doe"`, "enum switchboard.v1.Role")).toBe(described("a value it does not take", "enum switchboard.v1.Role"));
  });

  it("keeps what quotes nothing of the request, and every other message", () => {
    expect(told("maximum recursion depth of 100 reached")).toBe("cannot decode message switchboard.v1.ChatRequest from JSON: maximum recursion depth of 100 reached");
    expect(withoutRequestText('provider "openai" failed')).toBe('provider "openai" failed');
  });
});

describe("log lines and C1 control characters", () => {
  it("writes DEL and C1 controls as JSON escapes, as JSON writes C0 ones: the line parses back to the same text", async () => {
    const capture = new LogCapture();
    const logger = createLogger("info", capture);
    const vendorWords = "bad \u009b31mred\u009b0m \u001b[2J \u007f \u0085end";
    // The call's line (its own logger, without the masking pass) and any other line.
    callLineLogger(logger).warn({ error: vendorWords }, "call failed");
    logger.info({ detail: vendorWords }, `said ${vendorWords}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(capture.lines).toHaveLength(2);
    for (const line of capture.lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(capture.lines[0]).toContain(String.raw`bad \u009b31mred\u009b0m \u001b[2J \u007f \u0085end`);
    expect(capture.entries[0]!.error).toBe(vendorWords);
    expect(capture.entries[1]).toMatchObject({ detail: vendorWords, msg: `said ${vendorWords}` });
  });
});
