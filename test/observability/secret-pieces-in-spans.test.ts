// Audit issue 17: a model a caller names holding a piece of one of the
// gateway's secrets ("x-" and 26 characters of the master key) reached the
// call's and the attempt's spans verbatim ("chat x-masterAUDITkey0123456789ab"):
// spans masked whole keys only. Spans go where only operators read, as log
// lines do, so every text a caller or a vendor chose (attribute values, span
// names, the status message) is masked as log lines mask it, pieces of 12
// characters or more included. Read back from a real Jaeger.
import { ConnectError } from "@connectrpc/connect";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { parentOf, spansOf, tag, tracedGatewayOverFake } from "./support/jaeger-traces.js";

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
/** Shaped like no key (hex: one case), so only knowing it finds a piece of it. */
const MASTER_KEY = hex(32);
/** The vendor's prefix is every key's of that vendor: the pieces that count come after it. */
const VENDOR_KEY = `sk-spanmask-${hex(20)}`;
const MASTER_PIECE = MASTER_KEY.slice(7, 27);
const VENDOR_PIECE = VENDOR_KEY.slice(14, 34);
/** A model name that holds 20 characters of each: served by the vendor, which names it in its answer too. */
const MODEL = `x-${MASTER_PIECE}-${VENDOR_PIECE}`;
const MASKED_MODEL = "x-[redacted]-[redacted]";


/** No piece of either secret anywhere in the exported trace: names, attributes, events, status. */
function expectNoPiece(raw: string): void {
  for (const piece of [MASTER_PIECE, VENDOR_PIECE]) {
    expect(raw).not.toContain(piece.slice(0, 12));
    expect(raw).not.toContain(piece.slice(-12));
  }
}

describe("spans and pieces of the gateway's secrets in what callers and vendors chose", () => {
  const traced = tracedGatewayOverFake({ name: "spanmask", vendorKey: VENDOR_KEY, models: [MODEL], env: { SWITCHBOARD_MASTER_KEY: MASTER_KEY } });

  it("masks them in the call's and the attempt's models, names and request id, as log lines do", async () => {
    const { query, gw } = traced;
    let traceId = "";
    const answer = await gw
      .client("connect", MASTER_KEY)
      .chat(
        { model: `vendor/${MODEL}`, messages: [{ role: Role.USER, content: "hi" }] },
        { headers: { "x-request-id": `req-${MASTER_PIECE}` }, onHeader: (h) => (traceId = h.get("x-trace-id")!) },
      );
    // The caller's own text comes back as it sent it: only what operators read is masked.
    expect(answer.model).toBe(MODEL);
    const { spans, raw } = await spansOf(query, traceId, 2);
    expectNoPiece(raw);
    const call = spans.find((span) => tag(span, "switchboard.surface") === "connect")!;
    expect(tag(call, "gen_ai.request.model")).toBe(`vendor/${MASKED_MODEL}`);
    expect(tag(call, "gen_ai.response.model")).toBe(MASKED_MODEL);
    // A request id holding a piece is not the call's id at all (a new one is made): it would reach ledger rows as it is.
    expect(tag(call, "switchboard.request_id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const attempt = spans.find((span) => parentOf(span) === call.spanID)!;
    expect(attempt.operationName).toBe(`chat ${MASKED_MODEL}`);
    expect(tag(attempt, "gen_ai.request.model")).toBe(MASKED_MODEL);
    // What the gateway made itself is left as it is.
    expect(tag(attempt, "switchboard.credential.id")).toMatch(/^vendor\//);
    expect(tag(call, "switchboard.key.id")).toBe("master");
  });

  it("masks them in the vendor's id of its answer", async () => {
    const { query, vendor, gw } = traced;
    const id = `chatcmpl-${VENDOR_PIECE}${MASTER_PIECE}`;
    vendor.enqueue({
      kind: "error",
      status: 200,
      body: { id, object: "chat.completion", model: MODEL, choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
    });
    let traceId = "";
    const answer = await gw.client("connect", MASTER_KEY).chat({ model: `vendor/${MODEL}`, messages: [{ role: Role.USER, content: "hi" }] }, { onHeader: (h) => (traceId = h.get("x-trace-id")!) });
    expect(answer.id).toBe(id);
    const { spans, raw } = await spansOf(query, traceId, 2);
    expectNoPiece(raw);
    expect(tag(spans.find((span) => tag(span, "switchboard.surface") === "connect")!, "gen_ai.response.id")).toBe("chatcmpl-[redacted]");
  });

  it("masks them in a failed call's status message, which quotes the model", async () => {
    const { query, gw } = traced;
    const failed = ConnectError.from(
      await gw
        .client("connect", MASTER_KEY)
        .chat({ model: MODEL, messages: [{ role: Role.USER, content: "hi" }] })
        .catch((err: unknown) => err),
    );
    // The caller is told its own text back: whether it holds a piece of a secret must never change its answer.
    expect(failed.rawMessage).toContain(MODEL);
    const { spans, raw } = await spansOf(query, failed.metadata.get("x-trace-id")!, 1);
    expectNoPiece(raw);
    expect(String(tag(spans[0]!, "otel.status_description"))).toContain(`model "${MASKED_MODEL}" is not available`);
  });
});
