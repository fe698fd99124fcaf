// One model's parameter rules applied to a request: what it refuses or
// ignores is dropped, what it takes at one value only is dropped when
// different, exclusive parameters keep the first, and ranges are clamped or
// scaled. Every change is recorded.
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import type { ChatParams } from "../providers/provider.js";
import { showNumber, type Adjustments } from "./adjustments.js";
import { API_NAMES, type Parameter, type ParameterRules, type Range } from "./schema.js";

type RangedParameter = "temperature" | "topP" | "presencePenalty" | "frequencyPenalty";

/** The contract's upper bound of each ranged parameter: a "scale" rule maps [0, it] onto [0, the model's max]. */
const CONTRACT_MAX: Record<RangedParameter, number> = { temperature: 2, topP: 1, presencePenalty: 2, frequencyPenalty: 2 };

export function isSet(params: ChatParams, parameter: Parameter): boolean {
  switch (parameter) {
    case "stop":
      return params.stop.length > 0;
    case "user":
      return params.user !== "";
    default:
      return params[parameter] !== undefined;
  }
}

/** The value as an adjustment shows it; an end user's id is not repeated. */
export function shown(params: ChatParams, parameter: Parameter): string {
  switch (parameter) {
    case "stop":
      return JSON.stringify(params.stop);
    case "user":
      return "(set)";
    case "seed":
      return String(params.seed);
    case "maxTokens":
      return String(params.maxTokens);
    default:
      return showNumber(params[parameter]!, true);
  }
}

export function unset(params: ChatParams, parameter: Parameter): void {
  switch (parameter) {
    case "stop":
      params.stop = [];
      return;
    case "user":
      params.user = "";
      return;
    default:
      params[parameter] = undefined;
  }
}

/**
 * Applies `rules` to `params` in place. `model` names the model in reasons;
 * `context` says when the rules hold (" while reasoning"), or "".
 */
export function applyRules(params: ChatParams, rules: ParameterRules, adjustments: Adjustments, model: string, context = ""): void {
  const drop = (parameter: Parameter, reason: string) => {
    if (!isSet(params, parameter)) return;
    adjustments.dropped(API_NAMES[parameter], shown(params, parameter), reason);
    unset(params, parameter);
  };
  for (const parameter of rules.unsupported ?? []) drop(parameter, `${model} refuses ${API_NAMES[parameter]}${context}`);
  for (const parameter of rules.ignored ?? []) drop(parameter, `${model} ignores ${API_NAMES[parameter]}${context}`);
  for (const [parameter, only] of Object.entries(rules.fixed ?? {}) as [RangedParameter, number][]) {
    if (params[parameter] !== undefined && params[parameter] !== only) drop(parameter, `${model} takes only the default ${API_NAMES[parameter]} (${showNumber(only, true)})${context}`);
  }
  for (const group of rules.exclusive ?? []) {
    const given = group.filter((parameter) => isSet(params, parameter));
    const names = group.map((parameter) => API_NAMES[parameter]).join(" or ");
    for (const parameter of given.slice(1)) drop(parameter, `${model} takes ${names}, not both${context}`);
  }
  for (const [parameter, range] of Object.entries(rules.ranges ?? {}) as [RangedParameter, Range][]) fit(params, parameter, range, adjustments, model, context);
}

function fit(params: ChatParams, parameter: RangedParameter, range: Range, adjustments: Adjustments, model: string, context: string): void {
  const value = params[parameter];
  if (value === undefined) return;
  const name = API_NAMES[parameter];
  if (range.fit === "scale") {
    const sent = clamp(round(value * (range.max / CONTRACT_MAX[parameter])), range);
    if (sent === value) return;
    params[parameter] = sent;
    adjustments.add(name, AdjustmentKind.SCALED, showNumber(value, true), showNumber(sent, true), `${model} takes ${name} from ${range.min} to ${range.max}: the contract's 0-${CONTRACT_MAX[parameter]} is scaled onto it${context}`);
    return;
  }
  const sent = clamp(value, range);
  if (sent === value) return;
  params[parameter] = sent;
  adjustments.add(name, AdjustmentKind.CLAMPED, showNumber(value, true), showNumber(sent, true), `${model} takes ${name} from ${range.min} to ${range.max}${context}`);
}

function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, value));
}

/** Scaling in binary floating point leaves noise (0.30000000000000004): values are kept to six decimals. */
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
