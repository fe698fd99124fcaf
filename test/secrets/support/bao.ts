import { randomBytes } from "node:crypto";
import { requireService } from "../../support/require-service.js";

/** A name no other test file uses on the shared OpenBao server. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * The operator's side of OpenBao (Vault's open-source fork), over its HTTP
 * API with the root token: mounts, secrets, policies, AppRoles and tokens
 * for the tests to use.
 */
export class BaoAdmin {
  constructor(
    readonly addr: string,
    readonly rootToken: string,
  ) {}

  async request(method: string, path: string, body?: unknown, token = this.rootToken, namespace?: string): Promise<any> {
    const res = await fetch(`${this.addr}/v1/${path}`, {
      method,
      headers: { "x-vault-token": token, "content-type": "application/json", ...(namespace ? { "x-vault-namespace": namespace } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`OpenBao ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }

  async enableKv(mount: string): Promise<void> {
    await this.request("POST", `sys/mounts/${mount}`, { type: "kv", options: { version: "2" } });
  }

  /** Writes a new version of a KV v2 secret; returns the version number. */
  async put(mount: string, path: string, data: Record<string, string>): Promise<number> {
    const answer = await this.request("POST", `${mount}/data/${path}`, { data });
    return answer.data.version;
  }

  async policy(name: string, hcl: string): Promise<void> {
    await this.request("PUT", `sys/policies/acl/${name}`, { policy: hcl });
  }

  /** A read-only policy on the secrets under `mount`/`prefix`: what the gateway needs, nothing more. */
  async readPolicy(name: string, mount: string, prefix: string): Promise<void> {
    await this.policy(name, `path "${mount}/data/${prefix}/*" {\n  capabilities = ["read"]\n}\n`);
  }

  async enableAppRole(mount: string): Promise<void> {
    await this.request("POST", `sys/auth/${mount}`, { type: "approle" });
  }

  /** Creates an AppRole and a secret id for it. */
  async appRole(mount: string, role: string, settings: Record<string, unknown>): Promise<{ roleId: string; secretId: string }> {
    await this.request("POST", `auth/${mount}/role/${role}`, settings);
    const roleId = (await this.request("GET", `auth/${mount}/role/${role}/role-id`)).data.role_id;
    const secretId = (await this.request("POST", `auth/${mount}/role/${role}/secret-id`, {})).data.secret_id;
    return { roleId, secretId };
  }

  /** A token for the gateway, e.g. `{ ttl: "2s", policies: ["p"] }`. */
  async token(settings: Record<string, unknown>): Promise<string> {
    return (await this.request("POST", "auth/token/create", { no_parent: true, ...settings })).auth.client_token;
  }

  /** The remaining TTL of a token, in seconds (0: never expires); throws when the token is invalid. */
  async ttlOf(token: string): Promise<number> {
    return (await this.request("GET", "auth/token/lookup-self", undefined, token)).data.ttl;
  }
}

/**
 * The shared OpenBao server, a KV v2 mount `mount` of the test file's own, and
 * a token for the gateway, good for an hour, under a policy (`policy`) that
 * may only read the secrets under `mount`/switchboard/.
 */
export async function baoMountWithReadToken(mount: string, policy = `${mount}-read`): Promise<{ bao: BaoAdmin; token: string }> {
  const bao = new BaoAdmin(requireService("SWITCHBOARD_TEST_VAULT_ADDR"), requireService("SWITCHBOARD_TEST_VAULT_TOKEN"));
  await bao.enableKv(mount);
  await bao.readPolicy(policy, mount, "switchboard");
  return { bao, token: await bao.token({ policies: [policy], ttl: "1h" }) };
}

/** Polls `check` until it passes or `timeoutMs` runs out (then throws its last error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
