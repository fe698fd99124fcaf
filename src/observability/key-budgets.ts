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
}

/** Keys remembered at most; the least recently seen is forgotten first. */
const MAX_KEYS = 10_000;

/**
 * What each key with a budget has spent of it, as this instance last saw it
 * (at its calls' admission and settlement: no store reads at scrape time).
 * The gauges show the keys an operator marked plus the N nearest their limit.
 */
export class KeyBudgets {
  private readonly states = new Map<string, KeyBudgetState>();

  constructor(private readonly now: () => number = Date.now) {}

  record(state: KeyBudgetState): void {
    this.states.delete(state.keyId);
    this.states.set(state.keyId, state);
    if (this.states.size > MAX_KEYS) this.states.delete(this.states.keys().next().value!);
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
