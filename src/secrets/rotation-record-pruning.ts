import type { RotationRecord } from "./key-rotation-records.js";

/** The slot a pool id fills: "openai/primary@v3" → "primary". */
export function slotOf(provider: string, poolId: string): string {
  return poolId.slice(provider.length + 1).replace(/@v[0-9]+$/, "");
}

/**
 * What a promotion's record replaces once the record of the key it replaced is deleted: what
 * that key had itself taken over (so a restart still retires it), or nothing when it had taken
 * over nothing (it was still a canary, or an added key).
 */
export function inheritedReplaces(replaced: RotationRecord): string | undefined {
  return replaced.state === "promoted" || replaced.state === "retired" ? replaced.replaces : undefined;
}

/** Whether `record` replaces the key whose record is `replaced`. */
export function replacesRecord(record: RotationRecord, replaced: RotationRecord): boolean {
  return record.replaces !== undefined && slotOf(record.provider, record.replaces) === replaced.credentialId;
}

export interface PrunedRotations {
  /** The records a restart needs, oldest staging first (some rewritten). */
  kept: RotationRecord[];
  /** Kept records whose content changed: to write back. */
  rewritten: RotationRecord[];
  /** Records that decide nothing any more: to delete. */
  dropped: RotationRecord[];
}

/**
 * The rotation records a restart needs to build the same pools, from those of one store
 * (written by this version, or accumulated by earlier ones, which never deleted any):
 * - a rolled-back key's record decides nothing (its key is not staged again);
 * - a retired key's record (replaced by a later promotion) is folded into the record of
 *   the promotion that replaced it, which takes over its `replaces`: the key it had
 *   replaced stays retired at a restart, and the record goes. A chain of rotations of one
 *   slot (primary → k1 → k2 → k3) ends as one record (k3, replacing primary);
 * - a retired record no promotion holds on to any more decides nothing either.
 * A retired record whose successor's record does not name it is kept, as found.
 */
export function pruneRotations(records: readonly RotationRecord[]): PrunedRotations {
  const bySlot = new Map(records.map((record) => [slotKey(record), record]));
  const dropped = new Set<RotationRecord>();
  const rewritten = new Map<RotationRecord, RotationRecord>();
  for (const record of records) {
    if (record.state === "rolled_back") dropped.add(record);
    if (record.state !== "promoted") continue;
    // Walk back the chain of retired records this promotion ends.
    let folded = record;
    let successor = record;
    let replaced = predecessor(bySlot, folded);
    const seen = new Set<RotationRecord>([record]);
    while (replaced && replaced.state === "retired" && !seen.has(replaced) && replaced.replacedBy !== undefined) {
      seen.add(replaced);
      // Only a chain that agrees both ways is folded: what `replacedBy` says is what replaced it.
      if (slotOf(replaced.provider, replaced.replacedBy) !== successor.credentialId) break;
      dropped.add(replaced);
      folded = { ...folded, replaces: inheritedReplaces(replaced) };
      successor = replaced;
      replaced = predecessor(bySlot, folded);
    }
    if (folded !== record) rewritten.set(record, { ...record, replaces: folded.replaces });
  }
  // A retired record left over, whose chain of successors ends at no promotion, holds nothing back.
  for (const record of records) {
    if (record.state === "retired" && !dropped.has(record) && !endsInPromotion(bySlot, record)) dropped.add(record);
  }
  const kept = records.filter((record) => !dropped.has(record)).map((record) => rewritten.get(record) ?? record);
  return { kept, rewritten: [...rewritten.values()], dropped: [...dropped] };
}

function slotKey(record: RotationRecord): string {
  return `${record.provider}\n${record.credentialId}`;
}

function predecessor(bySlot: ReadonlyMap<string, RotationRecord>, record: RotationRecord): RotationRecord | undefined {
  if (record.replaces === undefined) return undefined;
  return bySlot.get(`${record.provider}\n${slotOf(record.provider, record.replaces)}`);
}

/** Whether following `replacedBy` from a retired record reaches a promoted one (what a restart retires it for). */
function endsInPromotion(bySlot: ReadonlyMap<string, RotationRecord>, record: RotationRecord): boolean {
  const seen = new Set<RotationRecord>();
  let current: RotationRecord | undefined = record;
  while (current && !seen.has(current)) {
    if (current.state === "promoted") return true;
    if (current.state !== "retired" || current.replacedBy === undefined) return false;
    seen.add(current);
    current = bySlot.get(`${current.provider}\n${slotOf(current.provider, current.replacedBy)}`);
  }
  return false;
}
