import { createHash } from "node:crypto";
import type { SqlDatabase } from "../store/sql.js";
import type { Credential } from "./credential.js";
import { putSetting, settingsWithPrefix } from "../store/settings-rows.js";

/** A secret an operator disabled, as the fleet remembers it: a digest of it, never the secret. */
export interface DisabledSecret {
  /** The provider whose key held it when it was disabled; the refusal holds in every provider's pool. */
  provider: string;
  /** SHA-256 of the secret (and its second half): what a key is matched on. */
  digest: string;
  /** The key's short fingerprint, for log lines. */
  fingerprint: string;
  /** The credential that held it when it was disabled ("openai/primary@v5"). */
  credential: string;
  /** The key's state reason when it was disabled ('disabled by "master": leaked'). */
  reason: string;
  atMs: number;
}

const PREFIX = "disabled_secret:";
const DIGEST = /^[0-9a-f]{64}$/;

/**
 * The secrets operators disabled (DisableKey: a leaked key; or deleted at
 * their source, which disables as DisableKey does), remembered for good by
 * digest, whatever becomes of the key that held them (replaced,
 * retired, forgotten by its pool, the process restarted): a source version
 * holding one again is refused, and a key holding one is disabled wherever it
 * is found, under whichever provider: operators often configure one vendor
 * account's key under several providers (an "-eu" or "-batch" entry), and a
 * leak is a leak in all of them. One row per secret in `gateway_settings` (the
 * store every instance shares on Postgres), so instances never overwrite each other's:
 *   disabled_secret:<sha256 of the secret> → JSON (provider, fingerprint, credential, reason, time)
 * Rows written before the refusal held in every pool, named
 * `disabled_secret:<provider>:<digest>`, are read the same way.
 * Only an operator staging the secret again (StageKey) lifts a refusal, everywhere.
 * Without a store (unit tests) it remembers for the process only.
 */
export class DisabledSecrets {
  private known = new Map<string, DisabledSecret>();
  /** Disables this instance made that the store did not take: kept, and written again on each refresh. */
  private readonly unsaved = new Map<string, DisabledSecret>();
  /** Bumped by every change made here, so a refresh read before it does not undo it. */
  private changes = 0;

  constructor(private readonly db: SqlDatabase | undefined) {}

  /** The refusal of `credential`'s secret, if an operator disabled it under any provider. */
  find(credential: Credential): DisabledSecret | undefined {
    return this.known.get(digestOf(credential));
  }

  /** Records an operator's disable (the first reason stays); throws when the store did not take it (it is still refused here). */
  async remember(provider: string, credential: Credential, reason: string, now = Date.now()): Promise<void> {
    const digest = digestOf(credential);
    const entry = this.known.get(digest) ?? { provider, digest, fingerprint: credential.fingerprint, credential: credential.id, reason, atMs: now };
    this.known.set(digest, entry);
    this.changes++;
    try {
      await this.save(entry);
      this.unsaved.delete(digest);
    } catch (err) {
      this.unsaved.set(digest, entry);
      throw err;
    }
  }

  /**
   * Lifts the refusal of `credential`'s secret under every provider (an operator staged it again);
   * whether there was one. Asks the store even when this instance knows of none: another may have
   * disabled it since the last refresh. Throws, lifting nothing, when the store cannot.
   */
  async forget(credential: Credential): Promise<boolean> {
    const digest = digestOf(credential);
    // The row, and any older per-provider ones: every name with the prefix that ends in ":<digest>".
    const removed =
      (await this.db?.run("DELETE FROM gateway_settings WHERE substr(name, 1, $1) = $2 AND substr(name, length(name) - 64) = $3", [PREFIX.length, PREFIX, `:${digest}`])) ?? 0;
    const known = this.known.delete(digest);
    this.unsaved.delete(digest);
    this.changes++;
    return known || removed > 0;
  }

  /**
   * Reads the store's refusals (at start, on each poll, when the Redis subscription comes back),
   * trying first to write those it did not take earlier. Throws when the store cannot be read.
   */
  async refresh(): Promise<void> {
    if (!this.db) return;
    for (const [digest, entry] of this.unsaved) {
      // Still refused here if the store does not take it this time either; the read below goes on.
      await this.save(entry).then(() => this.unsaved.delete(digest), () => undefined);
    }
    const before = this.changes;
    const rows = await settingsWithPrefix(this.db, PREFIX);
    // Something changed here while the rows were read: keep what this instance knows, the next refresh reads again.
    if (this.changes !== before) return;
    const known = new Map<string, DisabledSecret>();
    for (const row of rows) {
      const entry = parseRow(row.name, row.value);
      // A secret with both an older per-provider row and its own: the first read stands for it.
      if (entry && !known.has(entry.digest)) known.set(entry.digest, entry);
    }
    for (const [digest, entry] of this.unsaved) known.set(digest, entry);
    this.known = known;
  }

  private async save(entry: DisabledSecret): Promise<void> {
    const value = JSON.stringify({ provider: entry.provider, fingerprint: entry.fingerprint, credential: entry.credential, reason: entry.reason, at: entry.atMs });
    if (this.db) await putSetting(this.db, `${PREFIX}${entry.digest}`, value, { replace: false });
  }
}

/** Domain-separated SHA-256 of the secret and its second half: a vendor key is far too random to be found from it. */
function digestOf(credential: Credential): string {
  return createHash("sha256")
    .update(`switchboard-disabled-secret/v1\0${credential.secret}\0${credential.secondary ?? ""}`)
    .digest("hex");
}

/**
 * A stored refusal, `disabled_secret:<digest>` or the older `disabled_secret:<provider>:<digest>`;
 * one whose details cannot be read still refuses its digest.
 */
function parseRow(name: string, value: string): DisabledSecret | undefined {
  const rest = name.slice(PREFIX.length);
  const cut = rest.lastIndexOf(":");
  const digest = rest.slice(cut + 1);
  if (cut === 0 || !DIGEST.test(digest)) return undefined;
  let details: { provider?: unknown; fingerprint?: unknown; credential?: unknown; reason?: unknown; at?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === "object") details = parsed;
  } catch {
    // Refused all the same.
  }
  const text = (field: unknown, fallback: string) => (typeof field === "string" ? field : fallback);
  return {
    provider: cut > 0 ? rest.slice(0, cut) : text(details.provider, "unknown"),
    digest,
    fingerprint: text(details.fingerprint, "unknown"),
    credential: text(details.credential, "unknown"),
    reason: text(details.reason, "disabled by an operator"),
    atMs: typeof details.at === "number" ? details.at : 0,
  };
}
