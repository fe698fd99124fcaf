// An Anthropic stream whose body ends after message_delta (the stop reason and final usage) and before
// message_stop: DialectAdapter asks the decoder for what message_stop would have made (endMarkerMissed),
// and the answer ends as the whole stream would have. Recorded payloads, no server.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ResponseFormatType, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { createAnthropicCodec } from "../../../src/providers/anthropic/codec.js";
import type { ErrorContext } from "../../../src/providers/codec.js";
import { createCredential } from "../../../src/secrets/credential.js";
import { decode, feed, fixtureFolder, type RecordedEvent } from "../../support/codec-fixtures.js";

const fixtures = fixtureFolder("anthropic");
const codec = createAnthropicCodec({ provider: "anthropic" });
const ctx: ErrorContext = { provider: "anthropic", credential: createCredential("anthropic/test", "sk-ant-api03-codec-test-0123456789abcdef") };
const helloInit = { model: "claude-sonnet-4-5", messages: [{ role: Role.USER, content: "hello there" }] };
const hello = create(ChatRequestSchema, helloInit);
const jsonMode = create(ChatRequestSchema, { ...helloInit, responseFormat: { type: ResponseFormatType.JSON_OBJECT } });

describe("an Anthropic stream that ends between message_delta and message_stop", () => {
  it.each([
    ["stream-text.json", hello],
    ["stream-tool-use.json", hello],
    ["stream-thinking.json", hello],
    ["stream-cache-usage.json", hello],
    // JSON mode's text is held until the message stops: it comes out all the same.
    ["stream-json-mode.json", jsonMode],
  ])("%s ends as the whole stream does", (name, params) => {
    const events: RecordedEvent[] = fixtures.read(name).events;
    expect((events.at(-1)!.data as { type: string }).type).toBe("message_stop");
    const whole = decode(codec.chatStream(params, ctx), events);

    const decoder = codec.chatStream(params, ctx);
    const deltas = feed(decoder, events.slice(0, -1));
    expect([decoder.answered, decoder.done]).toEqual([true, false]);
    deltas.push(...(decoder.endMarkerMissed!() as typeof deltas));
    expect(decoder.done).toBe(true);
    expect({ deltas, end: decoder.finish() }).toEqual(whole);
  });
});
