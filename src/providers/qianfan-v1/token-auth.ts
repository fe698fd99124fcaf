import type { Credential } from "../../secrets/credential.js";
import { parseJson } from "../codec-errors.js";
import { VendorTransport } from "../transport/vendor-transport.js";
import { UpstreamError } from "../upstream-error.js";
import type { Authorization, VendorAuth } from "../vendor-auth.js";
import { AccessTokenCache, type IssuedToken } from "./access-token.js";
import { isTokenRejection, tokenExchangeError } from "./errors.js";

export interface QianfanTokenAuthOptions {
  /** The provider's configured name, for error messages. */
  provider: string;
  /** The API origin: the token endpoint lives there too. */
  baseUrl: string;
  /** Configured headers, sent to the token endpoint as well. */
  headers?: Record<string, string>;
  /** Bound on one token exchange, which concurrent calls share. */
  tokenTimeoutMs?: number;
  /** For tests of token expiry. */
  now?: () => number;
}

/** Baidu's documented lifetime, for an answer that leaves `expires_in` out. */
const DEFAULT_LIFETIME_S = 2_592_000;

/**
 * Qianfan v1's credential: the API Key + Secret Key pair exchanged for an
 * access token (cached per credential, shared by concurrent calls) that rides
 * in the query string. The token is a secret of its own: redacted from every
 * error, and replaced once when the vendor rejects it (110, 111).
 */
export class QianfanTokenAuth implements VendorAuth {
  private readonly provider: string;
  private readonly headers: Record<string, string>;
  private readonly tokenTimeoutMs: number;
  // The adapter's transport is private to the adapter: the exchange has its own, to the same origin.
  private readonly transport: VendorTransport;
  private readonly tokens: AccessTokenCache;

  constructor(options: QianfanTokenAuthOptions) {
    this.provider = options.provider;
    this.headers = options.headers ?? {};
    this.tokenTimeoutMs = options.tokenTimeoutMs ?? 30_000;
    this.transport = new VendorTransport(options.provider, options.baseUrl);
    this.tokens = new AccessTokenCache((credential) => this.exchange(credential), options.now);
  }

  async authorize(credential: Credential, signal: AbortSignal): Promise<Authorization> {
    const token = await this.tokens.get(credential, signal, this.provider);
    return { query: `access_token=${encodeURIComponent(token)}`, secrets: [token] };
  }

  renewAfter(error: UpstreamError, credential: Credential, used: Authorization): boolean {
    const token = used.secrets?.[0];
    if (token === undefined || !isTokenRejection(error)) return false;
    this.tokens.invalidate(credential, token);
    return true;
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** POST /oauth/2.0/token with the key pair in the query, as Baidu documents. */
  private async exchange(credential: Credential): Promise<IssuedToken> {
    if (!credential.secondary) {
      throw new UpstreamError({
        kind: "credential_rejected",
        provider: this.provider,
        credentialId: credential.id,
        message: `provider "${this.provider}" credential "${credential.id}" has no Secret Key: Qianfan v1 needs the API Key as the secret and the Secret Key as "secondary"`,
      });
    }
    const query = new URLSearchParams({ grant_type: "client_credentials", client_id: credential.secret, client_secret: credential.secondary });
    const call = { signal: AbortSignal.timeout(this.tokenTimeoutMs), credentialId: credential.id };
    // No body, so no content-type: the configured headers and accept only.
    const res = await this.transport.send({ ...call, method: "POST", path: `/oauth/2.0/token?${query.toString()}`, headers: { ...this.headers, accept: "application/json" } });
    const json = parseJson(await this.transport.text(res, call)) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    if (typeof json?.access_token === "string" && json.access_token !== "" && res.status < 400) {
      return { token: json.access_token, expiresInS: typeof json.expires_in === "number" ? json.expires_in : DEFAULT_LIFETIME_S };
    }
    throw tokenExchangeError(this.provider, credential, res.status, typeof json?.error === "string" ? json.error : undefined);
  }
}
