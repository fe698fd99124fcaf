import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

/**
 * Fails a write left waiting on a response that closes before it has
 * finished. connect-node's writer, once a write says false, waits for
 * 'drain' or 'error'; a response closed under it (its client gone, or cut by
 * the answer-stall bound: ./answer-stalls.ts) emits neither, only 'close':
 * an HTTP/1.1 response destroyed (Node calls the write's callback without an
 * error), and as much an HTTP/2 one whose stream was reset, by the gateway's
 * cut or the client's RST_STREAM (Node's compatibility response forwards its
 * stream's 'drain' but never its errors, and emits 'finish' and 'close'). The
 * write would wait for ever, and with it the stream's implementation, parked
 * where it handed over its last message: its call never ended (no log line,
 * no ledger row, its budget reservation kept). So the waiting write fails as
 * a write to a destroyed stream does (ERR_STREAM_DESTROYED, which
 * connect-node takes for the caller gone): connect-es throws it into the
 * stream, which ends the implementation (../api/stream-wrappers.ts), and the
 * call ends with its signal's reason (canceled, or the stall cut's
 * deadline_exceeded: ./stalled-answer-signal.ts).
 */
export function failWaitingWritesOnClose(res: ServerResponse | Http2ServerResponse): void {
  res.once("close", () => {
    // A writer waiting listens for both; with no 'error' listener nothing waits (and an unheard 'error' would throw).
    if (res.writableFinished || res.listenerCount("drain") === 0 || res.listenerCount("error") === 0) return;
    res.emit("error", Object.assign(new Error("Cannot call write after a stream was destroyed"), { code: "ERR_STREAM_DESTROYED" }));
  });
}
