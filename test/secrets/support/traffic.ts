import { expect } from "vitest";
import type { OpenAIFake } from "../../fakes/openai-fake.js";
import type { TestGateway } from "../../support/gateway.js";
import { calls, hello, requestsByKey } from "./admin.js";
import { eventually } from "./bao.js";

/** The vendor keys that served `n` calls, every one of which must succeed. */
export async function keysServing(gw: TestGateway, fake: OpenAIFake, n = 5): Promise<string[]> {
  const from = fake.requests.length;
  expect((await calls(gw, n)).failed).toEqual([]);
  return [...requestsByKey(fake, from).keys()];
}

/** Chat calls kept going until stopped: how many have succeeded so far, and every failure's message. */
export interface ChatLoops {
  readonly ok: number;
  readonly failed: string[];
  /** Lets each loop finish the call it is in, and settles once all have. */
  stop(): Promise<void>;
}

/** Starts `workers` loops, each making one chat call after another until stopped. */
export function chatLoops(gw: TestGateway, workers = 4): ChatLoops {
  let stopped = false;
  let ok = 0;
  const failed: string[] = [];
  const loop = async () => {
    const client = gw.client();
    while (!stopped) {
      try {
        await client.chat(hello);
        ok++;
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    get ok() {
      return ok;
    },
    failed,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/**
 * Keeps `workers` loops of chat calls going while `during` runs (once calls
 * are seen to flow), then until 20 more have succeeded; returns every
 * failure's message, and how many calls succeeded.
 */
export async function underLoad(gw: TestGateway, during: () => Promise<void>, workers = 4): Promise<{ ok: number; failed: string[] }> {
  const load = chatLoops(gw, workers);
  try {
    // Calls flow before anything happens (however long the first ones take on a busy machine).
    await eventually(() => expect(load.ok).toBeGreaterThan(0), 10_000);
    await during();
    const after = load.ok;
    await eventually(() => expect(load.ok - after).toBeGreaterThan(20), 10_000);
  } finally {
    await load.stop();
  }
  return { ok: load.ok, failed: load.failed };
}
