import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

/** Connect over fetch to the gateway that served this page, every call carrying `key`. */
export function gatewayTransport(key: string): Transport {
  return createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
}
