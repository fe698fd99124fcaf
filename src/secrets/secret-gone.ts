/**
 * A watched secret's source answered that the version in use is gone: it was
 * deleted or destroyed there, or the whole secret was. A definite answer, not
 * an outage (an unreachable or refusing source keeps the last known version in
 * use): keys holding that version stop being used (provider-pools.ts).
 */
export interface SecretGone {
  /** The version that is gone; undefined: every version (the secret itself is gone). */
  version: number | undefined;
  /** What the source answered, safe to show (never a value): "version 3 was deleted in Vault". */
  reason: string;
}
