import { createClient } from "@connectrpc/connect";
import { useState, type FormEvent } from "react";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { ErrorNote } from "../components/ErrorNote";
import { gatewayTransport } from "../transport";

/**
 * Sign-in with a gateway key that has the admin scope (or the master key).
 * The key is tried with a read before it is kept, so a key without the admin
 * scope is refused here, in words, and never stored.
 */
export function SignIn({ onSignedIn }: { onSignedIn(key: string): void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setBusy(true);
    setError(undefined);
    try {
      await createClient(AdminService, gatewayTransport(candidate)).getLiveStats({});
      onSignedIn(candidate);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main id="main" className="sign-in">
      <form onSubmit={submit} className="card">
        <h1>Switchboard console</h1>
        <p>Sign in with the master key or a gateway key with the admin scope. The key stays in this tab only and is forgotten when you sign out or close it.</p>
        <label htmlFor="admin-key">Admin key</label>
        <input id="admin-key" name="admin-key" type="password" autoComplete="off" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} required autoFocus />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <ErrorNote error={error} title="Not signed in" />
      </form>
    </main>
  );
}
