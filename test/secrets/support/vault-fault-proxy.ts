import { startFakeServer } from "../../fakes/fake-server.js";

/** An answer the proxy gives instead of Vault's. */
export interface FaultAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Which requests (by path and query, e.g. "/v1/secret/data/x?version=1") get which answer; undefined: Vault's own. */
export type Fault = (path: string) => FaultAnswer | undefined;

/**
 * A tiny HTTP proxy on loopback in front of the real OpenBao, for what sits
 * between a gateway and Vault in production (an ingress, a load balancer, a
 * reverse proxy): it forwards every request, or answers some itself while a
 * fault is set.
 */
export interface VaultFaultProxy {
  /** The address to give the gateway as VAULT_ADDR. */
  readonly addr: string;
  /** Sets the fault (undefined: forward everything again). */
  fault(fault: Fault | undefined): void;
  close(): Promise<void>;
}

/** An ingress's default backend: every request answered 404 in plain text. */
export const DEFAULT_BACKEND_404: Fault = () => ({ status: 404, contentType: "text/plain", body: "default backend - 404" });

export async function vaultFaultProxy(vaultAddr: string): Promise<VaultFaultProxy> {
  let current: Fault | undefined;
  const server = await startFakeServer(async (req, res) => {
    const faulty = current?.(req.path);
    if (faulty) {
      res.writeHead(faulty.status, { "content-type": faulty.contentType });
      res.end(faulty.body);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ["x-vault-token", "x-vault-namespace", "content-type"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const body = req.body === "" ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    const answer = await fetch(`${vaultAddr}${req.path}`, { method: req.method, headers, body });
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
    res.end(await answer.text());
  });
  return {
    addr: server.origin,
    fault: (fault) => (current = fault),
    close: () => server.close(),
  };
}
