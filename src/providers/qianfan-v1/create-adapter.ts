import { DialectAdapter, type VendorEndpoint } from "../dialect-adapter.js";
import { createQianfanV1Codec } from "./codec.js";
import { QianfanTokenAuth } from "./token-auth.js";

export interface QianfanV1Options extends VendorEndpoint {
  /** The API origin, "https://aip.baidubce.com"; the token endpoint lives there too. */
  baseUrl: string;
  /** Bound on one token exchange, which concurrent calls share. */
  tokenTimeoutMs?: number;
  /** For tests of token expiry. */
  now?: () => number;
}

/** Baidu Qianfan v1 (wenxinworkshop): its codec over the vendor transport, with the key pair exchanged for access tokens. */
export function createQianfanV1Adapter(options: QianfanV1Options): DialectAdapter {
  const { name, baseUrl, headers, connections, tokenTimeoutMs, now } = options;
  const auth = new QianfanTokenAuth({ provider: name, baseUrl, headers, tokenTimeoutMs, now });
  return new DialectAdapter({ name, baseUrl, headers, connections }, createQianfanV1Codec({ provider: name }), auth);
}
