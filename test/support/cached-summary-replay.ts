import { expect } from "vitest";
import { MASTER_KEY } from "./gateway.js";

/**
 * Asks /v1/responses the same streamed request twice (deterministic, temperature 0, so the second is a
 * cache hit, read on the wire for the cache's header), and expects the replay to stream the answer's
 * reasoning as a summary again: summary deltas, no raw reasoning text events.
 */
export async function expectReplayedAsSummary(gatewayUrl: string, request: object): Promise<void> {
  const body = JSON.stringify({ ...request, stream: true, temperature: 0 });
  const ask = async () => {
    const res = await fetch(`${gatewayUrl}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" }, body });
    const events = (await res.text()).split("\n").filter((line) => line.startsWith("event: ")).map((line) => line.slice("event: ".length));
    return { cache: res.headers.get("x-switchboard-cache"), events };
  };
  expect((await ask()).cache).toBe("miss");
  const replayed = await ask();
  expect(replayed.cache).toBe("hit");
  expect(replayed.events).toContain("response.reasoning_summary_text.delta");
  expect(replayed.events.filter((type) => type.startsWith("response.reasoning_text"))).toEqual([]);
}
