// What an attempt cut by its bound says of the vendor: only what was awaited
// and did not come. A vendor that trickles bytes and stalls did send
// something, so no message claims it "sent nothing". Simulated clock.
import { describe, expect, it } from "vitest";
import type { AttemptBound, Wait } from "../../src/gateway/adaptive-timeout.js";
import { startAttempt } from "../../src/gateway/attempt.js";
import { createCredential } from "../../src/secrets/credential.js";
import { on, setup } from "./sim-dispatch.js";

/** The abort reason of an attempt whose bound fires while it waits for `wait`. */
async function cutReason(wait: Wait): Promise<string> {
  const s = setup();
  const bound: AttemptBound = { ms: 6_000, rule: "configured" };
  const target = { candidate: on("primary", "m"), runtime: s.dispatcher.runtime("primary")!, credential: createCredential("primary/key-1", "sk-primary-1"), hedged: false };
  const first = { wait: wait === "silence" ? "first_token" : wait, bound, hungAfterMs: Infinity } as const;
  const attempt = startAttempt(target, { signal: new AbortController().signal }, [], first, { metrics: s.metrics, now: () => s.clock.now, timer: s.clock.timer });
  if (wait === "silence") attempt.wait("silence", bound);
  const signal = attempt.call.signal;
  await s.clock.run(new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })));
  attempt.end(signal.reason);
  return (signal.reason as Error).message;
}

describe("an attempt cut by its bound", () => {
  it.each([
    ["answer", 'provider "primary" did not finish its answer within 6000 ms (answer, configured bound)'],
    ["first_token", 'provider "primary" sent no first token within 6000 ms (first_token, configured bound)'],
    ["silence", 'provider "primary" sent no further event for 6000 ms (silence, configured bound)'],
  ] as const)("waiting for %s says what did not come", async (wait, message) => {
    expect(await cutReason(wait)).toBe(message);
  });
});
