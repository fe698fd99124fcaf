import type { Dispatcher } from "undici";

/** undici's handler hook for a request written whole (its types leave it out; its core calls it). */
type SentHandler = Dispatcher.DispatchHandler & { onRequestSent?: () => void };

/** Where a request's options carry the callback `tellingRequestSent` calls (undici passes unknown options through). */
export const REQUEST_SENT = Symbol("requestSent");

export type SentOptions = Dispatcher.RequestOptions & { [REQUEST_SENT]?: () => void };

/**
 * `pool` as a dispatcher whose requests tell their options' REQUEST_SENT once
 * undici has written them whole to a connection (headers and body: undici's
 * onRequestSent). From then on the vendor has the request and can bill it;
 * one aborted before (queued for a connection, or its connection still
 * opening) never reached it. undici's request() takes no such hook, so it is
 * set on the handler that request() hands its dispatcher (undici's own
 * compose() wraps it the same way). Built once per pool: a request without
 * the option passes straight through.
 */
export function tellingRequestSent<D extends Dispatcher>(pool: D): D {
  const dispatch = (opts: Dispatcher.DispatchOptions, handler: SentHandler): boolean => {
    const sent = (opts as SentOptions)[REQUEST_SENT];
    if (sent) {
      const own = handler.onRequestSent;
      handler.onRequestSent = () => {
        sent();
        own?.call(handler);
      };
    }
    return pool.dispatch(opts, handler);
  };
  return new Proxy(pool, { get: (target, key) => (key === "dispatch" ? dispatch : Reflect.get(target, key, target)) });
}
