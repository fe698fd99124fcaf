import { createClient } from "@connectrpc/connect";
import { useState, type FormEvent } from "react";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { ErrorNote } from "../components/ErrorNote";
import type { ErrorInWords } from "../errors";
import { gatewayTransport } from "../transport";

/**
 * What is wrong with a pasted key's characters, or undefined. A key travels
 * as `Authorization: Bearer <key>`: one word of printable characters, which a
 * browser refuses to send beyond Latin-1 (with an error about `Headers` no
 * user should have to read), and a gateway key is ASCII anyway.
 */
function keyCharacterProblem(key: string): string | undefined {
  const bad = /[^\x21-\x7e]/u.exec(key);
  if (!bad) return undefined;
  const char = bad[0];
  const what = /\s/.test(char) ? "a space or line break" : /[\x00-\x1f\x7f]/.test(char) ? "a control character" : `“${char}”`;
  return `This key holds ${what} at character ${[...key.slice(0, bad.index)].length + 1}, which no key has: keys are letters, digits and ASCII punctuation. Check what was pasted (a word processor may have changed a quote or a dash).`;
}

/**
 * Sign-in with a gateway key that has the admin scope (or the master key).
 * The key is tried with a read before it is kept, so a key without the admin
 * scope is refused here, in words, and never stored. `refused` says why the
 * console signed out by itself.
 */
export function SignIn({ onSignedIn, refused }: { onSignedIn(key: string): void; refused?: ErrorInWords }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setError(undefined);
    // Checked here, before any request: the browser would refuse to send it, in its own words.
    const characters = keyCharacterProblem(candidate);
    setProblem(characters);
    if (characters) return;
    setBusy(true);
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
        {refused && !error && !problem && (
          <div className="error" role="alert">
            <strong>Signed out: the gateway refused the key</strong> <code className="reason">{refused.reason}</code>
            <p>{refused.message}</p>
          </div>
        )}
        <p>Sign in with the master key or a gateway key with the admin scope. The key stays in this tab only and is forgotten when you sign out or close it.</p>
        <p className="muted small" id="master-key-help">
          First time? Unless <code>SWITCHBOARD_MASTER_KEY</code> sets it, the gateway made a master key at its first start: printed once on its terminal, or, without one,
          written to <code>master-key.generated</code> in its data directory (<code>./data/master-key.generated</code> where it was started, unless{" "}
          <code>SWITCHBOARD_DATA_DIR</code> moves it).
        </p>
        <label htmlFor="admin-key">Admin key</label>
        <input id="admin-key" name="admin-key" type="password" autoComplete="off" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} required autoFocus aria-describedby="master-key-help" />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        {problem && (
          <div className="error" role="alert">
            <strong>Not signed in</strong> <code className="reason">KEY_CHARACTERS</code>
            <p>{problem}</p>
          </div>
        )}
        <ErrorNote error={error} title="Not signed in" />
      </form>
    </main>
  );
}
