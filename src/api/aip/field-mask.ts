import type { FieldMask } from "@bufbuild/protobuf/wkt";
import type { FieldViolations } from "./field-violations.js";

/** What an Update may change of a resource. */
export interface UpdatableFields<Path extends string> {
  /** Every path the mask may name (sub-fields such as "budget.limit" included). */
  paths: readonly Path[];
  /** What "*" stands for: the top-level fields. */
  all: readonly Path[];
  /** Other spellings of a path ("ttl" for "expire_time"). */
  aliases?: Readonly<Record<string, Path>>;
}

/**
 * AIP-134: the paths an Update changes, from its `update_mask`; without one,
 * the fields the request sets (`implied`). Each path the resource does not
 * let change, or a mask naming none, adds an `update_mask` violation.
 */
export function readUpdateMask<Path extends string>(
  mask: FieldMask | undefined,
  implied: readonly Path[],
  updatable: UpdatableFields<Path>,
  violations: FieldViolations,
): Path[] {
  const given: readonly string[] = mask ? mask.paths : implied;
  if (given.length === 0) violations.add("update_mask", "names no field to change");
  if (given.includes("*")) return [...updatable.all];
  const paths: Path[] = [];
  for (const path of given) {
    const known = canonical(path, updatable);
    if (known === undefined) violations.add("update_mask", `"${path}" cannot be changed (changeable: ${updatable.paths.join(", ")})`);
    else paths.push(known);
  }
  return paths;
}

function canonical<Path extends string>(path: string, updatable: UpdatableFields<Path>): Path | undefined {
  if (updatable.aliases && Object.hasOwn(updatable.aliases, path)) return updatable.aliases[path];
  return updatable.paths.find((known) => known === path);
}
