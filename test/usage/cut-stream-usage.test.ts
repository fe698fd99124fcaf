// The ledger's tokens for streams the vendor gave no usage of, and for streams whose caller
// left before the usage came (hostile audit 4, findings 3 and 5). An answer's estimate counts its
// text as the prompt's is counted: Chinese a token a character, not four characters a token. A
// caller that hangs up once it has read the whole answer, its finish reason read by the gateway
// and the usage chunk still to come, leaves a row with the vendor's own counts, the reasoning
// tokens a reasoning model spent unseen included. A real gateway in front of a fake vendor on
// loopback; the fake's usage chunk waits on a gate the test opens.
import { connect, constants } from "node:http2";
import { createClient, type Client } from "@connectrpc/connect";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { gatewayOverFake } from "../support/fake-vendor-gateway.js";

const world = gatewayOverFake(
  () => startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o", "o3"] }),
  (fake) => ({ OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl }),
  { ledger: { flush_interval_ms: 50 } },
);

let admin: Client<typeof AdminService>;
beforeAll(() => {
  admin = createClient(AdminService, world.gw.transport("connect"));
});
afterEach(() => {
  world.fake.options.omitStreamUsage = undefined;
  world.fake.options.beforeStreamUsage = undefined;
});

/** A key of its own for each case, so that its ledger rows are the case's alone. */
async function keyFor(keyId: string): Promise<string> {
  const { secret } = await admin.createKey({ keyId, key: { displayName: keyId } });
  return secret;
}

/** The key's ledger totals, once it holds `calls` rows. */
async function ledgerOf(keyId: string, calls: number) {
  await expect.poll(async () => Number((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.requests)).toBe(calls);
  const total = (await admin.getUsageReport({ key: `keys/${keyId}` })).total!;
  return { promptTokens: Number(total.promptTokens), completionTokens: Number(total.completionTokens), errors: Number(total.errors) };
}

describe("a streamed answer in Chinese that the vendor gives no usage of", () => {
  it("is recorded at a token a character, as its prompt is", async () => {
    world.fake.options.omitStreamUsage = true;
    const secret = await keyFor("cjk-no-usage");
    const chinese = "请写长文".repeat(100);
    let text = "";
    let estimated: boolean | undefined;
    for await (const event of world.gw.client("connect", secret).chatStream({ model: "gpt-4o", messages: [{ role: Role.USER, content: chinese }] })) {
      if (event.event.case === "delta") text += event.event.value.content;
      if (event.event.case === "summary") estimated = event.event.value.usageEstimated;
    }
    expect(text).toBe(`Echo: ${chinese}`);
    expect(estimated).toBe(true);
    // 400 Chinese characters a token each, "Echo: " a token and a half; the prompt likewise, and 3 for its message.
    expect(await ledgerOf("cjk-no-usage", 1)).toEqual({ promptTokens: 400 + 3, completionTokens: 402, errors: 0 });
  });
});

describe("a reasoning model's stream whose caller hangs up after the whole answer, before the usage chunk", () => {
  it("is recorded with the vendor's usage, its reasoning tokens included", async () => {
    let atGate!: () => void;
    const reached = new Promise<void>((resolve) => (atGate = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    world.fake.options.beforeStreamUsage = () => (atGate(), gate);
    const secret = await keyFor("cut-before-usage");
    const prompt = "a reasoning cut probe";

    const session = connect(world.gw.url);
    session.on("error", () => {});
    try {
      const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json", authorization: `Bearer ${secret}` });
      stream.on("error", () => {});
      stream.end(JSON.stringify({ model: "o3", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: prompt }] }));
      let body = "";
      stream.setEncoding("utf8");
      const answered = new Promise<void>((resolve) => stream.on("data", (chunk: string) => (body += chunk, contentOf(body) === `Echo: ${prompt}` && resolve())));
      await answered;
      await reached;
      // The whole answer read, the finish reason not (the gateway sends it with the usage): the client resets its stream.
      expect(body).not.toContain('"finish_reason":"stop"');
      stream.close(constants.NGHTTP2_CANCEL);
      // The gateway has the reset once it answers a ping sent after it: only then does the vendor send its usage.
      await new Promise((resolve) => session.ping(resolve));
      openGate();

      // The fake's counts: the prompt's 4 words and 3 for the message; the answer's 5 words and its 7 reasoning tokens.
      expect(await ledgerOf("cut-before-usage", 1)).toEqual({ promptTokens: 4 + 3, completionTokens: 5 + 7, errors: 1 });
    } finally {
      openGate();
      session.destroy();
    }
  });
});

/** The answer's text in a Chat Completions event stream so far (its whole lines). */
function contentOf(body: string): string {
  let text = "";
  for (const line of body.split("\n").slice(0, -1)) {
    if (!line.startsWith("data: {")) continue;
    text += JSON.parse(line.slice("data: ".length)).choices?.[0]?.delta?.content ?? "";
  }
  return text;
}
