// ERNIE v1 answers that did not finish cleanly, through a gateway whose route
// caches every call: each reports how it really ended and is not kept, so
// asking again reaches the vendor (docs/cache.md, "Kept only when finished").
// The flags are Baidu's (vendor-wire-formats.md §2a Response): is_truncated,
// "the result was cut"; need_clear_history, "the input is unsafe: close the
// conversation and clear its history".
import { afterEach, describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startQianfanFake } from "../fakes/qianfan-v1-fake.js";
import { gatewayOverFake, SCRIPTED_FAILURES_REACH_THE_CALLER } from "../support/fake-vendor-gateway.js";

const AK = "Q7fWk2LmZp9RtXv4Bn6Hc8Jd";
const SK = "s3CrEtK9y2Lw8Vq1Zp6Tn4Mb7Xh5Gf0D";

const world = gatewayOverFake(
  () => startQianfanFake({ apiKey: AK, secretKey: SK }),
  (fake) => ({ QIANFAN_AK: AK, QIANFAN_SK: SK, QIANFAN_BASE_URL: fake.baseUrl }),
  { ...SCRIPTED_FAILURES_REACH_THE_CALLER, routes: [{ model: "ernie-4.0-8k", provider: "qianfan", cache: { mode: "always" } }] },
);

const ask = (content: string) => ({ model: "ernie-4.0-8k", messages: [{ role: Role.USER, content }] });

afterEach(() => {
  world.fake.options.ending = undefined;
});

describe("ERNIE v1 answers that did not finish, through a caching route", () => {
  it.each([
    ["cut (is_truncated), though it says normal", { is_truncated: true }, FinishReason.LENGTH],
    ["the stock answer to an unsafe input (need_clear_history)", { need_clear_history: true, ban_round: -1 }, FinishReason.CONTENT_FILTER],
    ["ended for a reason the gateway does not know", { finish_reason: "weird" }, FinishReason.UNSPECIFIED],
  ])("reports an answer %s as it ended and does not keep it", async (what, ending, expected) => {
    world.fake.options.ending = ending;
    const question = ask(`unary: ${what}`);
    const first = await world.gw.client().chat(question);
    const second = await world.gw.client().chat(question);
    expect([first.finishReason, first.cached]).toEqual([expected, false]);
    expect([second.finishReason, second.cached]).toEqual([expected, false]);
  });

  it("ends a cut stream LENGTH and does not keep it", async () => {
    world.fake.options.ending = { is_truncated: true };
    const question = ask("stream: cut");
    for (let round = 0; round < 2; round++) {
      const summaries = [];
      for await (const event of world.gw.client().chatStream(question)) if (event.event.case === "summary") summaries.push(event.event.value);
      expect(summaries.map((summary) => [summary.finishReason, summary.cached])).toEqual([[FinishReason.LENGTH, false]]);
    }
  });

  it("still keeps an answer that finished (the route does cache)", async () => {
    const question = ask("a clean answer");
    expect((await world.gw.client().chat(question)).cached).toBe(false);
    expect(await world.gw.client().chat(question)).toMatchObject({ cached: true, finishReason: FinishReason.STOP });
  });
});
