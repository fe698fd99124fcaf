import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { inWords, KEY_REFUSED, type ErrorInWords } from "./errors";

/**
 * Connect over fetch to the gateway that served this page, every call
 * carrying `key`; `onKeyRefused` hears of the first answer that says the key
 * itself is refused (revoked, expired, unknown, no admin scope), from a
 * unary call or mid-stream.
 */
export function gatewayTransport(key: string, onKeyRefused?: (why: ErrorInWords) => void): Transport {
  const check = (err: unknown) => {
    const words = inWords(err);
    if (onKeyRefused && KEY_REFUSED.has(words.reason)) onKeyRefused(words);
  };
  async function* watched<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* messages;
    } catch (err) {
      check(err);
      throw err;
    }
  }
  return createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [
      (next) => async (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        try {
          const res = await next(req);
          return res.stream ? { ...res, message: watched(res.message) } : res;
        } catch (err) {
          check(err);
          throw err;
        }
      },
    ],
  });
}
