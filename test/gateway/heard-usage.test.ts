// What a stream cut before its end is charged (src/gateway/heard-usage.ts): the prompt the vendor counted
// before the cut (Anthropic's message_start), else the character estimate; see also
// test/usage/claude-early-usage.test.ts for the whole path.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import { MessageSchema, Role, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { HeardUsage } from "../../src/gateway/heard-usage.js";
import { estimatedUsage } from "../../src/gateway/usage-estimate.js";

const params = { messages: [create(MessageSchema, { role: Role.USER, content: "x".repeat(4_000) })] };
const told = create(UsageSchema, { promptTokens: 10_050, completionTokens: 1, totalTokens: 10_051, cachedTokens: 9_000, cacheWriteTokens: 50, cacheWrite1hTokens: 20 });

describe("HeardUsage", () => {
  it("charges the estimate when the vendor told nothing, or a usage that counts no prompt", () => {
    const heard = new HeardUsage();
    expect(heard.charged(params, 7.5)).toEqual(estimatedUsage(params, 7.5));
    heard.hear(create(UsageSchema, {}));
    expect(heard.usage).toBeUndefined();
    expect(heard.charged(params, 7.5)).toEqual(estimatedUsage(params, 7.5));
  });

  it("charges the vendor's prompt counts, and the larger of its output count and the estimate of what streamed", () => {
    const heard = new HeardUsage();
    heard.hear(told);
    expect(heard.charged(params, 7.5)).toEqual(create(UsageSchema, { ...told, completionTokens: 8, totalTokens: 10_058 }));
    expect(heard.charged(params, 0)).toEqual(told);
  });
});

describe("HeardUsage held to the call's limits", () => {
  const windowOf = (most: number) => (usage: typeof told) => create(UsageSchema, { ...usage, promptTokens: Math.min(usage.promptTokens, most) });
  it("keeps what it hears, what it is told at the end and what it charges as they are held", () => {
    const reported = vi.fn(windowOf(10_000));
    const estimated = vi.fn(windowOf(10_000));
    const heard = new HeardUsage({ reported, estimated });
    heard.hear(told);
    expect(heard.usage?.promptTokens).toBe(10_000);
    expect(heard.atEnd(told).promptTokens).toBe(10_000);
    expect(reported).toHaveBeenCalledTimes(2);
    // The charge of a cut stream is an estimate in part: held silently.
    expect(heard.charged(params, 7.5).promptTokens).toBe(10_000);
    expect(estimated).toHaveBeenCalledTimes(1);
  });
});
