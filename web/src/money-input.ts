import type { MessageInitShape } from "@bufbuild/protobuf";
import type { MoneySchema } from "../../gen/ts/google/type/money_pb.js";

/** "12.5" as google.type.Money's units and nanos, without floating-point drift; undefined when it is not a plain amount. */
export function parseAmount(text: string): MessageInitShape<typeof MoneySchema> | undefined {
  const match = /^\s*(\d+)(?:\.(\d{1,9}))?\s*$/.exec(text);
  if (!match) return undefined;
  return { units: BigInt(match[1]!), nanos: Number((match[2] ?? "").padEnd(9, "0")) };
}

/** Money as the plain amount a form shows ("12.5"). */
export function amountText(money: { units: bigint; nanos: number } | undefined): string {
  if (!money) return "";
  const nanos = String(money.nanos).padStart(9, "0").replace(/0+$/, "");
  return nanos ? `${money.units}.${nanos}` : String(money.units);
}
