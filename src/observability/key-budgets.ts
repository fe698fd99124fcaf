/** A key's budget as last seen by this instance. */
export interface KeyBudgetState {
  keyId: string;
  team: string;
  currency: string;
  /** In units of the currency. */
  spent: number;
  limit: number;
  /** When the budget's period ends (epoch ms): the figures go stale then. */
  periodEndMs: number;
  /** When the call that saw these figures was admitted (epoch ms): it read the key as it was then. */
  seenMs: number;
}

/** Keys remembered at most; the least recently seen is forgotten first. */
const MAX_KEYS = 10_000;

/**
 * What each key with a budget has spent of it, as this instance last saw it
 * (at its calls' admission and settlement: no store reads at scrape time).
 * The gauges show the keys an operator marked plus the N nearest their limit.
 * A key that changed (its budget raised, the key revoked or deleted, here or
 * on another instance) is forgotten until a call admitted after the change
 * shows it again: a call under way settles with the key as it was admitted,
 * and must not bring back a revoked key's series or an old limit.
 */
export class KeyBudgets {
  private readonly states = new Map<string, KeyBudgetState>();
  /** When each key was last forgotten: figures seen by calls admitted before then are old (the oldest go first past MAX_KEYS). */
  private readonly forgotten = new Map<string, number>();
  /** When every key was last forgotten (the key store could not say which changed). */
  private allForgottenMs = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  record(state: KeyBudgetState): void {
    // Kept after a newer call showed the key again: one admitted before the change may still settle.
    if (state.seenMs < Math.max(this.allForgottenMs, this.forgotten.get(state.keyId) ?? -Infinity)) return;
    this.states.delete(state.keyId);
    this.states.set(state.keyId, state);
    if (this.states.size > MAX_KEYS) this.states.delete(this.states.keys().next().value!);
  }

  /** Drops a key that changed (undefined: any key may have); its calls admitted from now on show it again. */
  forget(keyId: string | undefined): void {
    const now = this.now();
    if (keyId === undefined) {
      this.allForgottenMs = now;
      this.states.clear();
      this.forgotten.clear();
      return;
    }
    this.states.delete(keyId);
    this.forgotten.delete(keyId);
    this.forgotten.set(keyId, now);
    if (this.forgotten.size > MAX_KEYS) this.forgotten.delete(this.forgotten.keys().next().value!);
  }

  /** The keys to show: `marked` ones and the `top` with the largest share of their budget spent, in the current period. */
  shown(marked: (keyId: string) => boolean, top: number): KeyBudgetState[] {
    const now = this.now();
    const current: KeyBudgetState[] = [];
    for (const [keyId, state] of this.states) {
      if (state.periodEndMs <= now) this.states.delete(keyId);
      else current.push(state);
    }
    const ranked = current.filter((state) => !marked(state.keyId)).sort((a, b) => share(b) - share(a));
    return [...current.filter((state) => marked(state.keyId)), ...ranked.slice(0, top)];
  }
}

function share(state: KeyBudgetState): number {
  return state.limit > 0 ? state.spent / state.limit : 0;
}
