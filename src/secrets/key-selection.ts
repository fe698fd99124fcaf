import type { PoolKey } from "./pool-key.js";

/**
 * The key for an attempt among `keys` (probes aside): a canary on its
 * traffic share, else an active key by weight; with no active key left, the
 * canaries carry the traffic rather than nobody. Keys on probation take only
 * their probes (key-health.ts).
 */
export function pickKey(keys: readonly PoolKey[], random: () => number): PoolKey | undefined {
  return pickByShare(keys.filter((key) => !key.probation), random);
}

/** When no other key is left: a key on probation, beyond its probes, rather than nobody. */
export function pickOnProbation(keys: readonly PoolKey[], random: () => number): PoolKey | undefined {
  return pickByShare(keys.filter((key) => key.probation), random);
}

/** The share of new attempts the key receives as the pool stands (probes aside), by the rule of `pickKey`. */
export function shareOf(keys: readonly PoolKey[], key: PoolKey): number {
  if (key.probation) return 0;
  const settled = keys.filter((other) => !other.probation);
  const active = settled.filter((other) => other.state === "active");
  const canaries = settled.filter((other) => other.state === "standby");
  if (key.state === "standby") {
    if (active.length > 0) return Math.min(key.canary!.share, Math.max(0, 1 - shareBefore(canaries, key)));
    const total = canaries.reduce((sum, other) => sum + other.canary!.share, 0);
    return key.canary!.share / total;
  }
  if (key.state !== "active") return 0;
  const canaryShare = Math.min(1, canaries.reduce((sum, other) => sum + other.canary!.share, 0));
  const totalWeight = active.reduce((sum, other) => sum + other.weight, 0);
  return ((1 - canaryShare) * key.weight) / totalWeight;
}

function pickByShare(keys: readonly PoolKey[], random: () => number): PoolKey | undefined {
  const active = keys.filter((key) => key.state === "active");
  const canaries = keys.filter((key) => key.state === "standby");
  if (active.length > 0) {
    let point = random();
    for (const canary of canaries) {
      if (point < canary.canary!.share) return canary;
      point -= canary.canary!.share;
    }
    return weighted(active, (key) => key.weight, random());
  }
  return canaries.length > 0 ? weighted(canaries, (key) => key.canary!.share, random()) : undefined;
}

/** Share already taken by the canaries listed before `key` (they are tried in order). */
function shareBefore(canaries: readonly PoolKey[], key: PoolKey): number {
  let sum = 0;
  for (const other of canaries) {
    if (other === key) break;
    sum += other.canary!.share;
  }
  return sum;
}

function weighted<T>(items: readonly T[], weightOf: (item: T) => number, random: number): T {
  if (items.length === 1) return items[0]!;
  const total = items.reduce((sum, item) => sum + weightOf(item), 0);
  let point = random * total;
  for (const item of items) {
    point -= weightOf(item);
    if (point < 0) return item;
  }
  return items[items.length - 1]!;
}
