import { create } from "@bufbuild/protobuf";
import { AdjustmentKind, ParameterAdjustmentSchema, type ParameterAdjustment } from "../../gen/ts/switchboard/v1/catalogue_pb.js";

/** The REST surfaces' header that lists what was changed: `temperature=clamped(1.6->1.0); stop=dropped(o3 refuses stop)`. */
export const ADJUSTED_HEADER = "x-switchboard-adjusted";

const KIND_WORDS: Record<AdjustmentKind, string> = {
  [AdjustmentKind.UNSPECIFIED]: "changed",
  [AdjustmentKind.CLAMPED]: "clamped",
  [AdjustmentKind.SCALED]: "scaled",
  [AdjustmentKind.DROPPED]: "dropped",
  [AdjustmentKind.DEGRADED]: "degraded",
  [AdjustmentKind.CONVERTED]: "converted",
  [AdjustmentKind.RAISED]: "raised",
};

/** The changes made to one request, in the order they were made. */
export class Adjustments {
  readonly list: ParameterAdjustment[] = [];

  add(parameter: string, kind: AdjustmentKind, requested: string, sent: string, reason: string): void {
    this.list.push(create(ParameterAdjustmentSchema, { parameter, kind, requested, sent, reason }));
  }

  dropped(parameter: string, requested: string, reason: string): void {
    this.add(parameter, AdjustmentKind.DROPPED, requested, "", reason);
  }
}

/**
 * The adjustments as one header value: a dropped parameter with its reason,
 * anything else as `requested->sent`. Header values are ASCII: anything else
 * is replaced (the answer's `adjustments` carry the exact values).
 */
export function adjustmentsHeader(adjustments: readonly ParameterAdjustment[]): string {
  return adjustments
    .map((a) => {
      const detail = a.kind === AdjustmentKind.DROPPED ? a.reason : `${a.requested || "unset"}->${a.sent || "unset"}`;
      // Parentheses and semicolons frame the list: none inside an item.
      return `${a.parameter}=${KIND_WORDS[a.kind]}(${detail.replace(/[()]/g, "").replace(/;/g, ",")})`;
    })
    .join("; ")
    .replace(/[^\x20-\x7e]/g, "?");
}

/** A number as a value in an adjustment: sampling values with one decimal at least ("1.0"), counts as they are. */
export function showNumber(value: number, decimal: boolean): string {
  return decimal && Number.isInteger(value) ? value.toFixed(1) : String(value);
}
