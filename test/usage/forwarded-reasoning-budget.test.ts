// Reasoning a caller sends back is a prompt the vendor bills (hostile audit 5,
// finding 1): DeepSeek gets each assistant turn's reasoning as
// `reasoning_content`, whatever surface the caller wrote it on (an unsigned
// thinking block on /v1/messages, a reasoning item on /v1/responses,
// reasoning_content on /v1/chat/completions). Left out of the bound a budget
// reserves, a burst of such calls each reserved next to nothing, and all of
// them were let through on a budget one of them spends. Held now as the
// same text in a user turn is: while one call holds the budget, the others
// are refused.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const MODEL = "deepseek-reasoner";
/** 120 kB: its bound (over 100,000 tokens at $0.55 a million) is more than the whole $0.01 budget. */
const TEXT = "think ".repeat(20_000);
const PARALLEL = 6;

/** A promise the test settles. */
function opening(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** The usage chunk of every stream waits on this gate: an admitted call holds its reservation until the test opens it. */
let gate = opening();
let deepseek: OpenAIFake;
let gw: TestGateway;
beforeAll(async () => {
  deepseek = await startOpenAIFake({ apiKey: "sk-ds", vendor: "deepseek", beforeStreamUsage: () => gate.promise });
  gw = await startGateway({ DEEPSEEK_API_KEY: "sk-ds", DEEPSEEK_BASE_URL: deepseek.baseUrl }, { ledger: { flush_interval_ms: 50 } });
});
afterAll(async () => {
  gate.resolve();
  await gw.stop();
  await deepseek.close();
});

/**
 * A streamed call whose conversation is a question, an assistant turn that
 * reasoned (`reasoning`) and called a tool, and the tool's result: the
 * question is `question`.
 */
type Surface = (question: string, reasoning: string) => { path: string; body: Record<string, unknown> };

const SURFACES: Record<string, Surface> = {
  "an unsigned thinking block on /v1/messages": (question, reasoning) => ({
    path: "/v1/messages",
    body: {
      max_tokens: 100,
      tools: [{ name: "t", description: "d", input_schema: { type: "object", properties: {} } }],
      messages: [
        { role: "user", content: question },
        { role: "assistant", content: [{ type: "thinking", thinking: reasoning, signature: "" }, { type: "tool_use", id: "toolu_1", name: "t", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "r" }] },
      ],
    },
  }),
  "a reasoning item on /v1/responses": (question, reasoning) => ({
    path: "/v1/responses",
    body: {
      max_output_tokens: 100,
      store: false,
      tools: [{ type: "function", name: "t", parameters: { type: "object", properties: {} } }],
      input: [
        { role: "user", content: question },
        { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: reasoning }] },
        { type: "function_call", call_id: "c1", name: "t", arguments: "{}" },
        { type: "function_call_output", call_id: "c1", output: "r" },
      ],
    },
  }),
  "reasoning_content on /v1/chat/completions": (question, reasoning) => ({
    path: "/v1/chat/completions",
    body: {
      max_tokens: 100,
      tools: [{ type: "function", function: { name: "t", parameters: { type: "object", properties: {} } } }],
      messages: [
        { role: "user", content: question },
        { role: "assistant", content: null, reasoning_content: reasoning, tool_calls: [{ id: "c1", type: "function", function: { name: "t", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "r" },
      ],
    },
  }),
};

let keys = 0;
/** The statuses of PARALLEL streamed calls at once, on a new key with a $0.01 budget, each answer read to its end after all have their status. */
async function burst(call: { path: string; body: Record<string, unknown> }): Promise<number[]> {
  const admin = createClient(AdminService, gw.transport("connect"));
  const { secret } = await admin.createKey({ keyId: `reasoner-${++keys}`, key: { displayName: "a cent", budget: { limit: { units: 0n, nanos: 10_000_000 } } } });
  gate = opening();
  const answers = await Promise.all(
    Array.from({ length: PARALLEL }, () =>
      fetch(`${gw.url}${call.path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, stream: true, ...call.body }),
      }),
    ),
  );
  gate.resolve();
  await Promise.all(answers.map((answer) => answer.text()));
  return answers.map((answer) => answer.status);
}

describe.each(Object.entries(SURFACES))("a burst of calls to a model that is sent the reasoning back, with the text in %s", (_, surface) => {
  it("is held by the budget as when the same text is the user's: one call holds it, the others are refused", async () => {
    const asUserText = await burst(surface(`q ${TEXT}`, "t"));
    expect(asUserText.toSorted()).toEqual([200, ...Array<number>(PARALLEL - 1).fill(429)]);

    const before = deepseek.chatRequests().length;
    const asReasoning = await burst(surface("q", TEXT));
    expect(asReasoning.toSorted()).toEqual([200, ...Array<number>(PARALLEL - 1).fill(429)]);
    // The one admitted was sent the text as its reasoning, which the vendor bills as input.
    const sent = deepseek.chatRequests().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.messages.some((message: { reasoning_content?: string }) => (message.reasoning_content?.length ?? 0) >= TEXT.length)).toBe(true);
  });
});
