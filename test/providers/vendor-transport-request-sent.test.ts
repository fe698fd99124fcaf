// The vendor transport tells when a request was written whole to the vendor
// (from then on the vendor can bill it), and not for one cut while its
// connection was still opening; such a cut ends the request at once, not when
// the connection opens or its connect timeout passes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VendorTransport } from "../../src/providers/transport/vendor-transport.js";
import { isUpstreamError } from "../../src/providers/upstream-error.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { startSilentVendor, type SilentVendor } from "../fakes/silent-vendor.js";

let vendor: FakeServer;
let silent: SilentVendor;

beforeAll(async () => {
  vendor = await startFakeServer(() => {});
  silent = await startSilentVendor();
});
afterAll(async () => {
  await silent?.close();
  await vendor?.close();
});

const request = (signal: AbortSignal, requestSent: () => void) => ({ method: "POST" as const, path: "/v1/chat/completions", headers: {}, body: "{}", signal, requestSent });

describe("VendorTransport: requestSent", () => {
  it("is told once the request is written, before the vendor answers", async () => {
    const transport = new VendorTransport("openai", vendor.origin);
    vendor.enqueue({ kind: "hang" });
    const cancel = new AbortController();
    let sent = 0;
    const sending = transport.send(request(cancel.signal, () => sent++));
    await expect.poll(() => vendor.requests.length).toBe(1);
    expect(sent).toBe(1);
    cancel.abort();
    await expect(sending).rejects.toSatisfy((err) => isUpstreamError(err) && err.kind === "cancelled");
    await transport.close();
  });

  it("is not told for a request cut while its connection is still opening, which fails at once as cancelled", async () => {
    const transport = new VendorTransport("openai", silent.origin);
    const before = silent.connections;
    const cancel = new AbortController();
    let sent = 0;
    const sending = transport.send(request(cancel.signal, () => sent++));
    let failed: unknown;
    sending.catch((err: unknown) => (failed = err));
    await expect.poll(() => silent.connections).toBe(before + 1);
    cancel.abort();
    // Settled while the connection is still opening: undici alone would fail it only at its connect timeout.
    await expect.poll(() => isUpstreamError(failed) && failed.kind).toBe("cancelled");
    expect(sent).toBe(0);
    // Closing the vendor fails the handshake, so that the pool can close.
    await silent.close();
    await transport.close();
  });
});
