import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_DEADLINE_MS } from "../../src/common/contract.js";
import { capDeadlineHeaders } from "../../src/server/deadline-cap.js";
import type { Protocol } from "../support/gateway.js";
import { rawRpcWorld } from "../support/raw-rpc-world.js";

// A deadline past a day is valid (gRPC takes up to 99999999H; a grpc-go
// client with a 48-hour context sends one): it is cut to a day, as on REST,
// never refused.

const hello = { model: "gpt-4o-mini", messages: [{ role: Role.USER, content: "hi" }] };

describe("a deadline longer than a day", () => {
  const world = rawRpcWorld();

  it.each<Protocol>(["grpc", "connect", "grpc-web"])("is served over %s, unary and streamed", async (protocol) => {
    const client = world.gw.client(protocol);
    const timeoutMs = 48 * 60 * 60 * 1000;
    expect((await client.chat(hello, { timeoutMs })).message?.content).toContain("hi");
    let text = "";
    for await (const res of client.chatStream(hello, { timeoutMs })) if (res.event.case === "delta") text += res.event.value.content;
    expect(text).toContain("hi");
  });
});

describe("capDeadlineHeaders", () => {
  it.each([
    [{ "grpc-timeout": "99999999H" }, { "grpc-timeout": `${MAX_DEADLINE_MS}m` }],
    [{ "grpc-timeout": "25H" }, { "grpc-timeout": `${MAX_DEADLINE_MS}m` }],
    [{ "grpc-timeout": "172800000m" }, { "grpc-timeout": `${MAX_DEADLINE_MS}m` }],
    [{ "grpc-timeout": "24H" }, { "grpc-timeout": "24H" }],
    [{ "grpc-timeout": "1.5S" }, { "grpc-timeout": "1.5S" }],
    [{ "connect-timeout-ms": "172800000" }, { "connect-timeout-ms": String(MAX_DEADLINE_MS) }],
    [{ "connect-timeout-ms": "-5" }, { "connect-timeout-ms": "-5" }],
  ])("%j becomes %j (malformed values are left for the protocol to refuse)", (headers, capped) => {
    capDeadlineHeaders(headers);
    expect(headers).toEqual(capped);
  });
});
