import { setFlagsFromString } from "node:v8";

/**
 * Turns off V8's allocation-site pretenuring for the gateway's process. A
 * gateway's objects live for one call, but under load many calls are in flight
 * at each young-generation collection, so V8 judges the sites that allocate
 * prompts and answers long-lived and allocates their objects straight into the
 * old generation, where they die and pile up until the next full collection
 * (60 KB prompts over gRPC at concurrency 32: about 2.4 MB promoted per young
 * collection, a peak of 260 MB). Without it they die young. Set before the
 * gateway is loaded; flags are process-wide, so the store's thread has it too.
 */
export function keepCallObjectsYoung(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
