/**
 * The largest weight a pool key may have. Weights only share traffic out
 * among a provider's keys: Infinity made every share NaN and 1e308 starved
 * every other key, while 1000 to 1 is already all the traffic.
 */
export const MAX_CREDENTIAL_WEIGHT = 1000;

/** A weight StageKey may set: finite, from 0 (the default) to MAX_CREDENTIAL_WEIGHT. */
export function isCredentialWeight(weight: number): boolean {
  return Number.isFinite(weight) && weight >= 0 && weight <= MAX_CREDENTIAL_WEIGHT;
}
