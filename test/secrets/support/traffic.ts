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

/**
 * Keeps `workers` loops of chat calls going while `during` runs (once calls
 * are seen to flow), then until 20 more have succeeded; returns every
 * failure's message, and how many calls succeeded.
 */
export async function underLoad(gw: TestGateway, during: () => Promise<void>, workers = 4): Promise<{ ok: number; failed: string[] }> {
  let stop = false;
  let ok = 0;
  const failed: string[] = [];
  const loop = async () => {
    const client = gw.client();
    while (!stop) {
      try {
        await client.chat(hello);
        ok++;
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  try {
    // Calls flow before anything happens (however long the first ones take on a busy machine).
    await eventually(() => expect(ok).toBeGreaterThan(0), 10_000);
    await during();
    const after = ok;
    await eventually(() => expect(ok - after).toBeGreaterThan(20), 10_000);
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  return { ok, failed };
}
