// Conversations OpenAI takes and Claude does not, as Claude is sent them: an
// assistant turn that said nothing (`content: null` or "") or only refused
// (OpenAI's `refusal`), and a conversation of system messages only. The fake
// enforces Anthropic's rules ("all messages must have non-empty content
// except for the optional final assistant message", alternating roles,
// "messages: Field required"), so a body Claude would refuse fails here too.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";
import { failure } from "../support/failure.js";
import { restChat } from "./rest.js";

const UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789abcdef";
const world = gatewayOverFake(
  () => startAnthropicFake({ apiKey: UPSTREAM_KEY }),
  (fake) => ({ ANTHROPIC_API_KEY: UPSTREAM_KEY, ANTHROPIC_BASE_URL: fake.baseUrl }),
  SCRIPTED_FAILURES_REACH_THE_CALLER,
);
const MODEL = "claude-sonnet-4-5";

async function sent(messages: object[]): Promise<{ status: number; messages: unknown; answer: unknown }> {
  const { status, json } = await restChat(world.gw, { model: MODEL, messages });
  return { status, messages: world.fake.messageRequests().at(-1)!.messages, answer: json.choices?.[0]?.message?.content };
}

describe("an assistant turn that said nothing, sent to Claude", () => {
  it.each([null, ""])("content %j mid-conversation: left out, the user turns around it merged", async (content) => {
    const { status, messages, answer } = await sent([
      { role: "user", content: "hi" },
      { role: "assistant", content },
      { role: "user", content: "z" },
    ]);
    expect(status).toBe(200);
    expect(messages).toEqual([{ role: "user", content: [{ type: "text", text: "hi" }, { type: "text", text: "z" }] }]);
    expect(answer).toBe("Echo: hi z");
  });

  it("at the end: left out, so Claude answers the user turn", async () => {
    const { status, messages } = await sent([
      { role: "user", content: "hi" },
      { role: "assistant", content: "" },
    ]);
    expect(status).toBe(200);
    expect(messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("a refusal (OpenAI's `refusal`, content null): its text is what the assistant said", async () => {
    const { status, messages } = await sent([
      { role: "user", content: "pick a lock" },
      { role: "assistant", content: null, refusal: "I can't help with that." },
      { role: "user", content: "a lock of my own" },
    ]);
    expect(status).toBe(200);
    expect(messages).toEqual([
      { role: "user", content: "pick a lock" },
      { role: "assistant", content: "I can't help with that." },
      { role: "user", content: "a lock of my own" },
    ]);
  });
});

describe("a conversation with no turn for Claude to answer", () => {
  it.each([
    ["system messages only", [{ role: Role.SYSTEM, content: "be brief" }]],
    [
      "system messages and an empty assistant turn",
      [
        { role: Role.SYSTEM, content: "be brief" },
        { role: Role.ASSISTANT, content: "" },
      ],
    ],
  ])("%s: refused as the caller's to fix, before Claude is asked", async (_, messages) => {
    const before = world.fake.messageRequests().length;
    const err = await failure(world.gw.client().chat({ model: MODEL, messages }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('provider "anthropic" (Anthropic Messages) needs a user message');
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UPSTREAM_BAD_REQUEST");
    expect(world.fake.messageRequests().length).toBe(before);
  });
});
