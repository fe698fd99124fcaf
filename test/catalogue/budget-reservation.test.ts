// A call without max_tokens reserves its budget by the model's most output
// tokens, as the catalogue knows it (gpt-4.1: 32,768), not a fixed guess.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { failure } from "../support/failure.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

describe("budget reservations", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world.close());

  it("hold the model's most output while a call without max_tokens is in flight", async () => {
    // gpt-4.1 at $1 a token (TEST_PRICING): a call reserves $(prompt + 32,768), more than the $25,000 budget,
    // where the former fixed bound of 16,384 tokens would have left room for another call.
    const { secret } = await world.admin().createKey({ keyId: "reserve", key: { displayName: "reserve", budget: { limit: { units: 25_000n } } } });
    const client = world.gw.client("connect", secret);
    world.fake.options.chunkDelayMs = 40;
    world.fake.options.extraWords = 30;
    try {
      const first = client.chatStream({ model: "gpt-4.1", messages: [{ role: Role.USER, content: "hi" }] });
      const iterator = first[Symbol.asyncIterator]();
      await iterator.next(); // the first delta: the call is admitted and in flight
      const err = await failure(client.chat({ model: "gpt-4.1", messages: [{ role: Role.USER, content: "hi" }] }));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/budget exhausted/);
      while (!(await iterator.next()).done);
    } finally {
      world.fake.options.chunkDelayMs = undefined;
      world.fake.options.extraWords = undefined;
    }
  });
});
