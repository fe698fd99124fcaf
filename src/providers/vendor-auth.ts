import type { Credential } from "../secrets/credential.js";
import type { UpstreamError } from "./upstream-error.js";

/** Where a request carries its credential: headers, a query string, or both. */
export interface Authorization {
  headers?: Record<string, string>;
  /** Appended to the request's path ("access_token=…"), never shown in an error. */
  query?: string;
  /** Secrets derived from the credential that a vendor may echo in an error (an access token): redacted like the key. */
  secrets?: readonly string[];
}

/**
 * How a dialect presents a vendor credential. Most put the key in a header;
 * ERNIE v1 exchanges it for an access token (I/O, cached) that rides in the
 * query string and is replaced when the vendor rejects it.
 */
export interface VendorAuth {
  authorize(credential: Credential, signal: AbortSignal): Promise<Authorization>;
  /** After `error`, whether a fresh authorization may succeed (an expired token): the request is then sent once more. */
  renewAfter?(error: UpstreamError, credential: Credential, used: Authorization): boolean;
  /** Releases what the auth holds (a token endpoint's connections). */
  close?(): Promise<void>;
}

/** `authorization: Bearer <key>`, left out for an empty key (Ollama and a local vLLM need none). */
export const bearerAuth: VendorAuth = {
  async authorize(credential) {
    return credential.secret ? { headers: { authorization: `Bearer ${credential.secret}` } } : {};
  },
};

/** `authorization: Bearer <key>` even when the key is empty: for vendors with no keyless mode (DashScope). */
export const alwaysBearerAuth: VendorAuth = {
  async authorize(credential) {
    return { headers: { authorization: `Bearer ${credential.secret}` } };
  },
};

/** The key in a header of the vendor's own (`x-api-key`, `x-goog-api-key`), left out for an empty key (a keyless proxy). */
export function headerAuth(name: string): VendorAuth {
  return {
    async authorize(credential) {
      return credential.secret ? { headers: { [name]: credential.secret } } : {};
    },
  };
}
