import type { ServerHttp2Session } from "node:http2";

/** How often the sessions are looked over for ones nghttp2 has ended (Http2Sessions). */
export const ENDED_SWEEP_MS = 1_000;

/** The part of Node's native session this asks: whether nghttp2 still wants to read or write, or has writes in progress. */
interface NativeSession {
  hasPendingData?: () => boolean;
}

/**
 * Whether nghttp2 has ended `session` on its own while Node still holds it
 * open. nghttp2 ends a session with a GOAWAY for a flood (rapid reset:
 * streams opened and reset faster than it allows) or a connection error (DATA
 * on stream 0, a PING of the wrong size, a stray CONTINUATION), then neither
 * reads nor writes it. Node 24 destroys such a session; Node 20 and 22 stop
 * reading its socket and say nothing (no 'error', 'goaway' or 'close'). Its
 * open streams then never close (neither an answer nor a reset is sent any
 * more), so it never turns idle: the connection, its streams and their calls
 * were held until the process exited, or for the idle timeout when none was
 * open.
 *
 * Node gives no public way to ask; its own graceful close asks its native
 * session's hasPendingData(), false once nghttp2 wants neither to read nor to
 * write. A session nobody has begun to close (no GOAWAY of the gateway's own:
 * see Http2Sessions) wants to read until nghttp2 ends it. Where Node has no
 * such method, this says false, and the idle timeout stays the bound.
 */
export function endedByNghttp2(session: ServerHttp2Session): boolean {
  if (session.closed || session.destroyed) return false;
  const native = nativeOf(session);
  return typeof native?.hasPendingData === "function" && !native.hasPendingData();
}

/** Node keeps the native session under a symbol it does not export, named kHandle. */
function nativeOf(session: ServerHttp2Session): NativeSession | undefined {
  const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === "kHandle");
  return key === undefined ? undefined : (session as unknown as Record<symbol, NativeSession | undefined>)[key];
}
