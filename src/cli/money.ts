/** A `google.type.Money`-shaped amount: units and nanos carry the same sign. */
export interface MoneyParts {
  units: bigint;
  nanos: number;
}

/**
 * The exact decimal of an amount, with at least `minDecimals` decimals and as
 * many more as it takes not to round anything away (down to nano-units):
 * 5 → "5.00", 0.005 → "0.005", 0.0000045 → "0.0000045". A budget or a spend
 * under a cent is never shown as "0.00".
 */
export function formatMoney(money: MoneyParts, minDecimals = 2): string {
  const negative = money.units < 0n || money.nanos < 0;
  const units = negative ? -money.units : money.units;
  const nanos = String(Math.abs(money.nanos)).padStart(9, "0");
  const significant = nanos.replace(/0+$/, "").length;
  const decimals = nanos.slice(0, Math.max(minDecimals, significant));
  return `${negative ? "-" : ""}${units}${decimals ? `.${decimals}` : ""}`;
}
