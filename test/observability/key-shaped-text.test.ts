// A caller may paste a key (the gateway's own, or a vendor's) where a model
// name, a request id or a tool name goes. What the gateway writes down of it
// (log lines, metric labels, the call's record, error texts) keeps a short
// hint ("sk-sb-…"), never the key; names that only look long stay whole.
import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { openCallRecord, pipelineContext } from "../../src/api/envelope/call-record.js";
import { withKeysMasked } from "../../src/api/envelope/masked-error.js";
import { generateGatewayKey } from "../../src/auth/gateway-key.js";
import { badRequest } from "../../src/common/bad-request.js";
import { gatewayError } from "../../src/common/gateway-error.js";
import { BoundedLabel, OTHER } from "../../src/observability/bounded-labels.js";
import { createLogger } from "../../src/observability/logger.js";
import { holdsKey, maskKeys } from "../../src/providers/redact.js";

const GATEWAY_KEY = generateGatewayKey();
const VENDOR_KEYS = [
  `sk-proj-${"Ab3_x".repeat(10)}`,
  `sk-ant-api03-${"Zy9-q".repeat(18)}`,
  "AIzaSyA1b2C3d4E5f6G7h8I9j0K_lMnOpQrStUv",
  `gsk_${"aB3".repeat(12)}`,
  `hf_${"QwErTy12".repeat(4)}`,
  // A key without a prefix (Mistral's are 32 letters and digits).
  "Xk2mP9qR4tW7yZ1aB3cD5eF8gH0jK6nL",
];
const KEYS = [GATEWAY_KEY, ...VENDOR_KEYS];

/** Log lines written to memory. */
function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("maskKeys", () => {
  it("cuts every key to its first six characters and an ellipsis, wherever it sits in the text", () => {
    expect(maskKeys(GATEWAY_KEY)).toBe("sk-sb-…");
    expect(maskKeys(`openai/${GATEWAY_KEY}`)).toBe("openai/sk-sb-…");
    expect(maskKeys(`model "${GATEWAY_KEY}" is not available`)).toBe('model "sk-sb-…" is not available');
    for (const key of VENDOR_KEYS) expect(maskKeys(`a ${key} b`)).toBe(`a ${key.slice(0, 6)}… b`);
  });

  it("leaves model names, ids and hashes as they are", () => {
    for (const text of [
      "gpt-4o-mini",
      "claude-3-5-sonnet-20241022",
      "anthropic/claude-sonnet-4-5-20250929",
      "risk-assessment-model-large-v2-aaaaaaaaaaaaaaaa",
      "ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:9Hk2LmNq",
      "meta-llama/Llama-3.3-70B-Instruct-Turbo",
      "550e8400-e29b-41d4-a716-446655440000",
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "xai-grok-beta",
    ]) {
      expect(maskKeys(text)).toBe(text);
      expect(holdsKey(text)).toBe(false);
    }
  });

  it("masks a masked text no further", () => {
    for (const key of KEYS) expect(maskKeys(maskKeys(key))).toBe(maskKeys(key));
  });
});

describe("log lines", () => {
  it("mask keys in every field, however deep, and in the message", async () => {
    const { lines, destination } = capture();
    const logger = createLogger("info", destination);
    logger.warn({ model: GATEWAY_KEY, nested: { list: [{ user: VENDOR_KEYS[0] }] }, count: 3 }, `could not route ${VENDOR_KEYS[1]}`);
    logger.info({ component: "x" }, "plain");
    await settled();
    const text = lines.join("\n");
    for (const key of KEYS.slice(0, 3)) expect(text).not.toContain(key);
    const [masked, plain] = lines.map((line) => JSON.parse(line));
    expect(masked).toMatchObject({ model: "sk-sb-…", nested: { list: [{ user: "sk-pro…" }] }, count: 3, msg: "could not route sk-ant…" });
    expect(plain).toMatchObject({ component: "x", msg: "plain" });
  });

  it("of calls are written from the call's record, which masks what the caller chose where it takes it", () => {
    const record = openCallRecord("REST POST /v1/chat/completions", "rest", new Headers({ "x-request-id": GATEWAY_KEY }), (h, n) => h.get(n));
    const ctx = pipelineContext(record, { keyId: "k", admin: false } as never, new AbortController().signal, undefined);
    ctx.report?.({ requestedModel: `openai/${GATEWAY_KEY}`, model: GATEWAY_KEY, downgraded: false });
    expect(record.requestId).not.toBe(GATEWAY_KEY);
    expect(record.report).toMatchObject({ requestedModel: "openai/sk-sb-…", model: "sk-sb-…" });
    const plainReport = { requestedModel: "gpt-4o-mini", model: "gpt-4o-mini", downgraded: false };
    ctx.report?.(plainReport);
    expect(record.report).toBe(plainReport);
  });
});

describe("x-request-id", () => {
  const idOf = (value: string) => openCallRecord("m", "rest", new Headers({ "x-request-id": value }), (h, n) => h.get(n)).requestId;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("keeps a sane one", () => {
    for (const id of ["req-123", "a".repeat(128), "trace:0af7651916cd43dd.span-1"]) expect(idOf(id)).toBe(id);
  });

  it("replaces one too long, with odd characters, or shaped like a key, and keeps it nowhere", () => {
    for (const id of ["a".repeat(129), "has space", "semi;colon", "quote\"", "ünï", "tab\tin", ...KEYS]) {
      expect(idOf(id)).toMatch(UUID);
    }
  });
});

describe("metric labels", () => {
  it("never take a key as a value: it counts as other and takes no place", () => {
    const models = new BoundedLabel(2);
    expect(models.of(GATEWAY_KEY)).toBe(OTHER);
    expect(models.of(`openai/${VENDOR_KEYS[0]}`)).toBe(OTHER);
    expect(models.of("gpt-4o")).toBe("gpt-4o");
    expect(models.of("gpt-4o-mini")).toBe("gpt-4o-mini");
    expect(models.known(GATEWAY_KEY)).toBe(OTHER);
  });
});

describe("errors", () => {
  it("mask keys in the message, the ErrorInfo metadata and the BadRequest violations", () => {
    const routed = withKeysMasked(gatewayError(Code.NotFound, `model "${GATEWAY_KEY}" is not available`, "MODEL_NOT_FOUND", { model: GATEWAY_KEY }));
    expect(routed.rawMessage).toBe('model "sk-sb-…" is not available');
    expect(routed.code).toBe(Code.NotFound);
    expect(routed.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MODEL_NOT_FOUND", domain: "switchboard.dev", metadata: { model: "sk-sb-…" } });

    const invalid = withKeysMasked(badRequest({ field: "tools[1].name", description: `"${VENDOR_KEYS[1]}" is declared twice` }));
    expect(invalid.rawMessage).toBe('tools[1].name: "sk-ant…" is declared twice');
    expect(invalid.findDetails(BadRequestSchema)[0]?.fieldViolations[0]).toMatchObject({ field: "tools[1].name", description: '"sk-ant…" is declared twice' });
    expect(invalid.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
  });

  it("returns an error with nothing to mask as it is", () => {
    const error = gatewayError(Code.NotFound, 'model "gpt-5-nano" is not available', "MODEL_NOT_FOUND", { model: "gpt-5-nano" });
    expect(withKeysMasked(error)).toBe(error);
    const plain = new ConnectError("internal error", Code.Internal);
    expect(withKeysMasked(plain)).toBe(plain);
  });
});
