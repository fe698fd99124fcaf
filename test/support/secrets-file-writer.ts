// A writer of the encrypted secrets file in a process of its own, as `switchboard secrets set` is.
// argv: file, data key (base64), name prefix, count, how far its clock runs ahead (ms). It says "ready" on
// stdout and starts at the first byte on stdin, so the tests' writers start together.
import { EncryptedFileStore } from "../../src/secrets/encrypted-file-store.js";

const [file, key, prefix, count, clockAheadMs] = process.argv.slice(2);
const realNow = Date.now;
Date.now = () => realNow() + Number(clockAheadMs ?? 0);
const store = new EncryptedFileStore(file!, Buffer.from(key!, "base64"));
process.stdout.write("ready\n");
process.stdin.once("data", () => {
  for (let i = 0; i < Number(count); i++) store.set(`${prefix}-${i}`, `sk-${prefix}-${i}`);
  process.exit(0);
});
