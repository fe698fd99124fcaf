/**
 * Why a dependency (the store, Redis, the ledger journal) cannot be used, in
 * the few words the unauthenticated /healthz may show: the system's error
 * code where there is one ("ENOSPC", "ECONNREFUSED"), or what the backend's
 * words come to ("read-only", "access denied"), else "failed". Never the
 * words themselves: they name hosts, addresses, users, databases and paths.
 * The whole message goes to the log line.
 */
export function dependencyCause(message: string): string {
  const code = /\b(E[A-Z]{3,}|SQLITE_[A-Z_]+)\b/.exec(message)?.[1];
  if (code) return code;
  if (/read[- ]only/i.test(message)) return "read-only";
  if (/auth|password|permission|denied|NOPERM|WRONGPASS/i.test(message)) return "access denied";
  if (/connection (is )?closed|not connected|connection lost|terminated/i.test(message)) return "connection closed";
  if (/timed? ?out/i.test(message)) return "timed out";
  if (/no space|disk full|quota/i.test(message)) return "disk full";
  return "failed";
}
