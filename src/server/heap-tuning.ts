import { setFlagsFromString } from "node:v8";

/**
 * The gateway's V8 heap settings, set before the gateway is loaded (flags are
 * process-wide, so the store's thread has them too). A flag the operator gave
 * node on its command line is left as given.
 *
 * - No allocation-site pretenuring. A gateway's objects live for one call, but
 *   under load many calls are in flight at each young-generation collection,
 *   so V8 judges the sites that allocate prompts and answers long-lived and
 *   allocates their objects straight into the old generation, where they die
 *   and pile up until the next full collection (60 KB prompts over gRPC at
 *   concurrency 32: about 2.4 MB promoted per young collection, a peak of 260
 *   MB). Without it they die young.
 * - The old generation grows by half its live size before a full collection,
 *   not V8's default of up to four times (chosen for heaps that hold data). A
 *   gateway's live heap is small (about 27 MB) and what reaches the old
 *   generation is mostly garbage of calls that ended, so letting it grow to
 *   four times its size bought no speed and cost about 80 MB of RSS
 *   (README, performance).
 */
export function tuneHeap(): void {
  setUnlessGiven("--no-allocation-site-pretenuring", "allocation-site-pretenuring");
  setUnlessGiven("--heap-growing-percent=50", "heap-growing-percent");
}

function setUnlessGiven(flag: string, name: string): void {
  if (!givenOnCommandLine(name, process.execArgv)) setFlagsFromString(flag);
}

/** Whether `execArgv` sets V8's flag `name` (either spelling, with a value or negated). */
export function givenOnCommandLine(name: string, execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => {
    const flag = arg.replaceAll("_", "-").replace(/^--no-/, "--").split("=")[0];
    return flag === `--${name}`;
  });
}
