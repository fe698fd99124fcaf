import { createContextKey } from "@connectrpc/connect";
import type { KeyPolicy } from "./key-policy.js";

/** Who is calling: the gateway key that authenticated, never the key itself. */
export interface Principal {
  /** The key's id ("master" for the bootstrap key). */
  keyId: string;
  /** A human name for logs. */
  name: string;
  /** May call the AdminService. */
  admin: boolean;
  /** The key's team ("" for none); ledger rows and reports group by it. */
  team?: string;
  /** Scopes, limits, budget and economy models of a stored key; undefined for the master key (no limits). */
  policy?: KeyPolicy;
}

/** Set by the auth interceptor; read by handlers. Undefined only on unauthenticated services. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });
