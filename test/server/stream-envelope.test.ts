import { compressedFlag, encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag } from "@connectrpc/connect/protocol-connect";
import { describe, expect, it } from "vitest";
import { enveloped } from "../../src/server/lean-rpc/stream-answer.js";

describe("a streamed message's envelope (enveloped)", () => {
  it("is connect-es's encodeEnvelope, byte for byte, for every flag and size (Node's pool or a buffer of its own)", () => {
    for (const flags of [0, compressedFlag, endStreamFlag, compressedFlag | endStreamFlag]) {
      for (const size of [0, 1, 17, 255, 256, 4_095, 4_096, 70_000]) {
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
        expect(Buffer.from(enveloped(flags, data)).equals(Buffer.from(encodeEnvelope(flags, data)))).toBe(true);
      }
    }
  });
});
