import { ConfigError } from "../config/config-error.js";
import { holdsKeyOrSecretPiece } from "../providers/redact.js";

/** The value a capped label takes for everything past its cap. */
export const OTHER = "other";

/**
 * A label whose values come from callers or operators (models, teams): the
 * `reserved` values (the names an operator configured) always keep their
 * name; of the others, the first `limit` distinct ones keep theirs and later
 * ones are counted under "other", so a metric's series stay bounded whatever
 * arrives, and callers who fill those places cannot take a reserved name's.
 * A value holding a key or a piece of one of the gateway's secrets (a caller
 * pasted one as a model name), found as log lines mask them, is never a
 * label: "other", taking no place.
 */
export class BoundedLabel {
  /** The reserved values and the extra ones that took a place: one lookup on the hot path. */
  private readonly labelled: Set<string>;
  private extras = 0;

  constructor(
    private readonly limit: number,
    reserved: Iterable<string> = [],
  ) {
    this.labelled = new Set([...reserved].filter((value) => !holdsKeyOrSecretPiece(value)));
  }

  of(value: string): string {
    if (this.labelled.has(value)) return value;
    if (this.extras >= this.limit || holdsKeyOrSecretPiece(value)) return OTHER;
    this.labelled.add(value);
    this.extras++;
    return value;
  }

  /** The value's label if it already has one (or is reserved), else "other": for values nothing vouches for yet, which must not take a place. */
  known(value: string): string {
    return this.labelled.has(value) ? value : OTHER;
  }
}

/** Which gateway keys get a label of their own: those an operator marks, and the top N by tokens. */
export interface KeyLabelRules {
  marked: ReadonlySet<string>;
  top: number;
}

/** Keys tallied at most, for the ranking; past it the lighter half is forgotten. */
const MAX_TALLIED = 10_000;
/** The ranking is redone at most this often (at a scrape). */
const RERANK_EVERY_MS = 60_000;

/**
 * Per-key labels with bounded cardinality: a marked key always has its own
 * label, the N keys with the most tokens since the start have theirs (the
 * first keys seen take the free places at once; each minute the ranking is
 * redone), every other key counts as "other". Counters stay monotonic: a
 * key's series counts from when it got its label, "other" counts what
 * unlabelled keys used, and their sum is the whole. A key that drops out of
 * the top N loses its series (`rerank` says which), and its later use counts
 * as "other".
 */
export class KeyLabels {
  private readonly tallies = new Map<string, { tokens: number; team: string }>();
  private promoted = new Set<string>();
  private rankedAt = -Infinity;

  constructor(
    private readonly rules: KeyLabelRules,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The key's label now, after counting `tokens` towards its rank. */
  label(keyId: string, team: string, tokens: number): string {
    if (this.rules.marked.has(keyId)) return keyId;
    if (this.rules.top > 0) {
      const tally = this.tallies.get(keyId);
      if (tally) tally.tokens += tokens;
      else this.tallies.set(keyId, { tokens, team });
      if (this.tallies.size > MAX_TALLIED) this.forgetLightest();
      if (this.promoted.size < this.rules.top) this.promoted.add(keyId);
    }
    return this.promoted.has(keyId) ? keyId : OTHER;
  }

  get top(): number {
    return this.rules.top;
  }

  isMarked(keyId: string): boolean {
    return this.rules.marked.has(keyId);
  }

  /** Redoes the top N (at most once a minute); returns the keys that lost their label, with their team, so their series can go. */
  rerank(): { keyId: string; team: string }[] {
    if (this.rules.top === 0 || this.now() - this.rankedAt < RERANK_EVERY_MS) return [];
    this.rankedAt = this.now();
    const ranked = [...this.tallies.entries()].sort(([, a], [, b]) => b.tokens - a.tokens).slice(0, this.rules.top);
    const next = new Set(ranked.map(([keyId]) => keyId));
    const dropped = [...this.promoted].filter((keyId) => !next.has(keyId)).map((keyId) => ({ keyId, team: this.tallies.get(keyId)?.team ?? "" }));
    this.promoted = next;
    return dropped;
  }

  private forgetLightest(): void {
    const sorted = [...this.tallies.entries()].sort(([, a], [, b]) => a.tokens - b.tokens);
    for (const [keyId] of sorted.slice(0, sorted.length / 2)) if (!this.promoted.has(keyId)) this.tallies.delete(keyId);
  }
}

/** The rules from SWITCHBOARD_METRICS_KEYS (key ids, comma-separated) and SWITCHBOARD_METRICS_TOP_KEYS (default 10; 0 for none). */
export function keyLabelRulesFromEnv(env: NodeJS.ProcessEnv): KeyLabelRules {
  const marked = new Set(
    (env.SWITCHBOARD_METRICS_KEYS ?? "")
      .split(",")
      .map((id) => id.trim())
      .filter(Boolean),
  );
  const text = env.SWITCHBOARD_METRICS_TOP_KEYS?.trim();
  const top = text ? Number(text) : 10;
  if (!Number.isInteger(top) || top < 0 || top > 1000) throw new ConfigError("environment", "SWITCHBOARD_METRICS_TOP_KEYS", `"${text}" is not a whole number from 0 to 1000`);
  return { marked, top };
}
