import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";

/** A fake vendor whose `usage` the test sets between calls. */
export type UsageReportingVendor = FakeServer & { usage: unknown };

/**
 * An OpenAI-compatible vendor that answers every chat (unary and streamed,
 * "evil says hi") and every embedding with `usage`, whatever the test set it
 * to: counts that are malformed, or well formed but impossible.
 */
export async function startUsageReportingVendor(usage: unknown = {}): Promise<UsageReportingVendor> {
  const state = { usage };
  const server = await startFakeServer(async (req, res) => {
    const body = req.body as { model: string; stream?: boolean; input?: string[] };
    if (req.path.endsWith("/embeddings")) {
      return sendJson(res, 200, { object: "list", data: (body.input ?? []).map((_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2] })), model: body.model, usage: state.usage });
    }
    const content = "evil says hi";
    if (!body.stream) {
      return sendJson(res, 200, { id: "chatcmpl-evil", object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }], usage: state.usage });
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (fields: object) => `data: ${JSON.stringify({ id: "chatcmpl-evil", object: "chat.completion.chunk", created: 1, model: body.model, ...fields })}\n\n`;
    res.write(chunk({ choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }] }));
    res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
    res.write(chunk({ choices: [], usage: state.usage }));
    res.end("data: [DONE]\n\n");
  });
  return Object.defineProperty(server, "usage", { get: () => state.usage, set: (next: unknown) => (state.usage = next) }) as UsageReportingVendor;
}
