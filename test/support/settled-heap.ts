// The heap a test measures, once garbage is gone: the tests that hold a count to what its objects
// really take (the cache's entries, the message threads) compare it before and after.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The heap in use once garbage is gone: full collections, with turns between them for what they leave to finalize. */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}
