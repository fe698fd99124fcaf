import type { Dispatcher } from "undici";

/** undici's handler hook for a request written whole (its types leave it out; its core calls it). */
type SentHandler = Dispatcher.DispatchHandler & { onRequestSent?: () => void };

/**
 * `pool` as a dispatcher whose requests tell `sent` once undici has written
 * them whole to a connection (headers and body: undici's onRequestSent). From
 * then on the vendor has the request and can bill it; one aborted before
 * (queued for a connection, or its connection still opening) never reached it.
 * undici's request() takes no such hook, so it is set on the handler that
 * request() hands its dispatcher (undici's own compose() wraps it the same way).
 */
export function tellingRequestSent<D extends Dispatcher>(pool: D, sent: () => void): D {
  const dispatch = (opts: Dispatcher.DispatchOptions, handler: SentHandler): boolean => {
    const own = handler.onRequestSent;
    handler.onRequestSent = () => {
      sent();
      own?.call(handler);
    };
    return pool.dispatch(opts, handler);
  };
  return new Proxy(pool, { get: (target, key) => (key === "dispatch" ? dispatch : Reflect.get(target, key, target)) });
}
