import type { BaoAdmin } from "./bao.js";

/**
 * A Transit engine on the test's OpenBao, with one key and a token that may
 * only encrypt, decrypt and rewrap with it: what the gateway's policy needs.
 */
export async function transitKey(bao: BaoAdmin, mount: string, key: string): Promise<{ token: string; rotate(): Promise<number> }> {
  await bao.request("POST", `sys/mounts/${mount}`, { type: "transit" });
  await bao.request("POST", `${mount}/keys/${key}`, {});
  const policy = `${mount}-${key}-use`;
  await bao.policy(
    policy,
    ["encrypt", "decrypt", "rewrap"].map((operation) => `path "${mount}/${operation}/${key}" {\n  capabilities = ["update"]\n}\n`).join(""),
  );
  const token = await bao.token({ policies: [policy], ttl: "1h" });
  return {
    token,
    /** `bao write -f transit/keys/KEY/rotate`; returns the new latest version. */
    async rotate() {
      await bao.request("POST", `${mount}/keys/${key}/rotate`, {});
      return (await bao.request("GET", `${mount}/keys/${key}`)).data.latest_version;
    },
  };
}
