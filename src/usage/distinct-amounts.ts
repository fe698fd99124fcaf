import { formatNanos, NANOS_PER_UNIT } from "./pricing.js";

/** Decimals a refusal shows at least; more only where these would hide what matters. */
const MIN_DIGITS = 4;
/** Nano-units: no amount has more. */
const MAX_DIGITS = 9;

/**
 * Two amounts (a key's spend and its budget) with as many decimals as it takes
 * to tell them apart and to show neither as zero when it is not: a budget of
 * 0.00002 reads "spent 0.000021 of its 0.000020", not "0.0000 of its 0.0000".
 */
export function formatDistinctAmounts(a: number, b: number): [string, string] {
  for (let digits = MIN_DIGITS; digits < MAX_DIGITS; digits++) {
    const shown: [string, string] = [formatNanos(a, digits), formatNanos(b, digits)];
    const apart = shown[0] !== shown[1] || (exactAt(a, digits) && exactAt(b, digits));
    if (apart && showsNonzero(a, shown[0]) && showsNonzero(b, shown[1])) return shown;
  }
  return [formatNanos(a, MAX_DIGITS), formatNanos(b, MAX_DIGITS)];
}

function exactAt(nanos: number, digits: number): boolean {
  return Math.round(nanos) % (NANOS_PER_UNIT / 10 ** digits) === 0;
}

function showsNonzero(nanos: number, shown: string): boolean {
  return Math.round(nanos) === 0 || /[1-9]/.test(shown);
}
