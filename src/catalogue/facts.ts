import type { Facts, ParameterRules, Reasoning, Wire } from "./schema.js";

/** A model's facts after every layer: rules and wire names always present (maybe empty), reasoning absent for a model that does not reason. */
export type ResolvedFacts = Omit<Facts, "kind" | "parameters" | "wire" | "reasoning"> & {
  kind: "chat" | "embedding";
  parameters: ParameterRules;
  wire: Wire;
  reasoning: Reasoning | undefined;
};

/**
 * A more specific layer over a less specific one. Scalars and whole objects
 * (price, reasoning, embedding) are replaced; parameter rules and wire names
 * are merged key by key, and the lists of dropped parameters and exclusive
 * groups add up, so a model's row adds to its vendor's rules.
 */
export function mergeFacts(base: Facts, over: Facts): Facts {
  const merged: Facts = { ...base };
  for (const [key, value] of Object.entries(over) as [keyof Facts, unknown][]) {
    if (value === undefined) continue;
    (merged as Record<string, unknown>)[key] = value;
  }
  if (base.parameters && over.parameters) merged.parameters = mergeRules(base.parameters, over.parameters);
  if (base.wire && over.wire) merged.wire = { ...base.wire, ...over.wire };
  return merged;
}

export function mergeRules(base: ParameterRules, over: ParameterRules): ParameterRules {
  return {
    ranges: base.ranges || over.ranges ? { ...base.ranges, ...over.ranges } : undefined,
    minMaxTokens: over.minMaxTokens ?? base.minMaxTokens,
    unsupported: union(base.unsupported, over.unsupported),
    ignored: union(base.ignored, over.ignored),
    fixed: base.fixed || over.fixed ? { ...base.fixed, ...over.fixed } : undefined,
    exclusive: base.exclusive || over.exclusive ? [...(base.exclusive ?? []), ...(over.exclusive ?? [])] : undefined,
  };
}

function union<T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined {
  return a || b ? [...new Set([...(a ?? []), ...(b ?? [])])] : undefined;
}
