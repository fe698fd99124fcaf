import { createContextKey } from "@connectrpc/connect";

/** Who is calling: the gateway key that authenticated, never the key itself. */
export interface Principal {
  /** The key's id ("master" for the bootstrap key). */
  keyId: string;
  /** A human name for logs. */
  name: string;
  /** May call the AdminService. */
  admin: boolean;
}

/** Set by the auth interceptor; read by handlers. Undefined only on unauthenticated services. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });
