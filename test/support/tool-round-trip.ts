import type { Client } from "@connectrpc/connect";
import { expect } from "vitest";
import type { AIService, ChatResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role, type ToolCall } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { PlainChatRequest } from "./streams.js";

/** What a vendor's test checks besides: both answers, and the call the first one made. */
export interface WeatherRoundTrip {
  first: ChatResponse;
  call: ToolCall;
  second: ChatResponse;
}

/**
 * A tool call's round trip in two unary calls, as the fake vendors play it:
 * `request` (offering a get_weather tool) asks about Paris and must get a
 * get_weather call for it; the call's result, "sunny, 21C", goes back in a
 * second call (the same tools, no tool choice), which must answer with it.
 */
export async function weatherRoundTrip(client: Client<typeof AIService>, request: PlainChatRequest): Promise<WeatherRoundTrip> {
  const question = { role: Role.USER, content: "Paris" };
  const first = await client.chat({ ...request, messages: [question] });
  expect(first.finishReason).toBe(FinishReason.TOOL_CALLS);
  const call = first.message!.toolCalls[0]!;
  expect(call.name).toBe("get_weather");
  expect(JSON.parse(call.arguments)).toEqual({ query: "Paris" });

  const { toolChoice: _, ...withoutChoice } = request;
  const second = await client.chat({ ...withoutChoice, messages: [question, first.message!, { role: Role.TOOL, toolCallId: call.id, content: "sunny, 21C" }] });
  expect(second.message?.content).toBe("Tool result: sunny, 21C");
  return { first, call, second };
}
