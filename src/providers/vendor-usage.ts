// A vendor's token counts, checked before anything trusts them: every
// dialect's usage reader goes through here, so that a count that cannot be
// true (a string, a fraction, a negative, more than the contract carries)
// never reaches the answer, the price or the ledger.
import { create } from "@bufbuild/protobuf";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";

/** The most tokens one count may say: Usage's fields are int32 in the contract. */
export const MAX_TOKEN_COUNT = 2_147_483_647;

/**
 * What was wrong with the usage a vendor sent, for the gateway's one warn line
 * about the call: the fields (as the vendor names them) and what was wrong
 * with each, never the values themselves.
 */
export interface UsageFault {
  /** Field → problem: `{ "usage.prompt_tokens": "not a number (a string)" }`. */
  fields: Record<string, string>;
  /**
   * A count the bill rests on was unusable: the vendor's usage was set aside
   * whole, and the gateway estimates the call's usage as it does for a vendor
   * that reports none. False when only a total or a detail was unusable (it
   * was left out; the counts that matter were kept).
   */
  discarded: boolean;
}

/** A vendor's usage as read: the counts (none when the vendor gave none, or none usable), and what was wrong with them. */
export interface VendorUsage {
  usage: Usage | undefined;
  fault?: UsageFault;
}

/** Why a value is not a token count, or undefined when it is one: a whole number from 0 to MAX_TOKEN_COUNT. */
export function tokenCountProblem(value: unknown): string | undefined {
  if (typeof value !== "number") return `not a number (${kindOf(value)})`;
  if (Number.isNaN(value)) return "not a number";
  if (value < 0) return "negative";
  if (value > MAX_TOKEN_COUNT) return `over ${MAX_TOKEN_COUNT}`;
  if (!Number.isInteger(value)) return "not a whole number";
  return undefined;
}

/** What a JSON value is, for a problem's wording (never the value itself: a vendor may echo anything). */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** A vendor's usage object (or an object of details in it), as JSON. */
export type UsageObject = Record<string, unknown>;

const absent = (value: unknown): boolean => value === undefined || value === null;

const isObject = (value: unknown): value is UsageObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** The counts a reader ends with, in the contract's terms; a total left out is prompt plus completion. */
export interface TokenTotals {
  promptTokens: number;
  completionTokens: number;
  totalTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  /** Prompt tokens written to the vendor's cache, and of them those kept for an hour (Anthropic). */
  cacheWriteTokens?: number;
  cacheWrite1hTokens?: number;
}

/**
 * Reads one usage object of a vendor's answer, count by count, and remembers
 * what could not be read. `billed` counts (prompt, completion and their
 * parts) decide the price: one that is unusable sets the whole usage aside.
 * `extra` counts (totals, cached and reasoning details) are only read as
 * absent when unusable. An absent or null count is what it always was: 0, or
 * the total worked out from the others.
 *
 *     UsageCounts.read(body.usage, "usage", (usage, counts) => ({
 *       promptTokens: counts.billed(usage.prompt_tokens, "prompt_tokens"),
 *       completionTokens: counts.billed(usage.completion_tokens, "completion_tokens"),
 *       totalTokens: counts.extra(usage.total_tokens, "total_tokens"),
 *     }));
 */
export class UsageCounts {
  private readonly fields: Record<string, string> = {};
  private discarded = false;

  private constructor(
    /** The usage object's path in the vendor's answer, for the fault's field names ("usage", "usageMetadata"). */
    private readonly path: string,
  ) {}

  /**
   * Reads `raw`, the vendor's usage object found at `path`, with `read`. No
   * usage (absent or null) is no usage; a usage that is not an object is a
   * fault, and no usage either.
   */
  static read(raw: unknown, path: string, read: (usage: UsageObject, counts: UsageCounts) => TokenTotals): VendorUsage {
    if (absent(raw)) return { usage: undefined };
    const counts = new UsageCounts(path);
    if (!isObject(raw)) {
      counts.fault(path, `not an object (${kindOf(raw)})`, true);
      return counts.finish(undefined);
    }
    return counts.finish(read(raw, counts));
  }

  /** A count the price rests on, at `name` under the usage object: 0 when absent; an unusable one sets the vendor's usage aside. */
  billed(value: unknown, name: string): number {
    if (absent(value)) return 0;
    const problem = tokenCountProblem(value);
    if (problem === undefined) return value as number;
    this.fault(`${this.path}.${name}`, problem, true);
    return 0;
  }

  /** A count beside the price (a total, a detail): undefined when absent or unusable. */
  extra(value: unknown, name: string): number | undefined {
    if (absent(value)) return undefined;
    const problem = tokenCountProblem(value);
    if (problem === undefined) return value as number;
    this.fault(`${this.path}.${name}`, problem, false);
    return undefined;
  }

  /** An object of details (`prompt_tokens_details`): undefined when absent, or when not an object (a fault). */
  details(value: unknown, name: string): UsageObject | undefined {
    if (absent(value)) return undefined;
    if (isObject(value)) return value;
    this.fault(`${this.path}.${name}`, "not an object", false);
    return undefined;
  }

  /** Counts added up into one the contract carries (Anthropic's prompt is three): over MAX_TOKEN_COUNT sets the usage aside. */
  sum(name: string, ...counts: number[]): number {
    const total = counts.reduce((sum, count) => sum + count, 0);
    if (total <= MAX_TOKEN_COUNT) return total;
    this.fault(`${this.path}.${name}`, `adds up to over ${MAX_TOKEN_COUNT}`, true);
    return 0;
  }

  private fault(field: string, problem: string, discards: boolean): void {
    this.fields[field] = problem;
    if (discards) this.discarded = true;
  }

  private finish(totals: TokenTotals | undefined): VendorUsage {
    let usage: Usage | undefined;
    if (totals && !this.discarded) {
      const { promptTokens, completionTokens } = totals;
      // A total the vendor left out (or sent unusable) is the sum, which the contract must be able to carry too.
      const totalTokens = totals.totalTokens ?? this.sum("(prompt + completion)", promptTokens, completionTokens);
      if (!this.discarded) {
        usage = create(UsageSchema, {
          promptTokens,
          completionTokens,
          totalTokens,
          cachedTokens: totals.cachedTokens ?? 0,
          reasoningTokens: totals.reasoningTokens ?? 0,
          cacheWriteTokens: totals.cacheWriteTokens ?? 0,
          cacheWrite1hTokens: totals.cacheWrite1hTokens ?? 0,
        });
      }
    }
    const faulty = Object.keys(this.fields).length > 0;
    return faulty ? { usage, fault: { fields: this.fields, discarded: this.discarded } } : { usage };
  }
}

/**
 * Usage of an embeddings answer: input tokens only (`input`), and a total
 * that is the input when left out. No usage at all reads as nothing counted,
 * as these dialects always read it; an unusable count as no usage (the
 * gateway estimates).
 */
export function fromEmbeddingUsage(raw: unknown, fields: { input: string; total?: string }): VendorUsage {
  if (absent(raw)) return { usage: create(UsageSchema, {}) };
  return UsageCounts.read(raw, "usage", (usage, counts) => {
    const input = counts.billed(usage[fields.input], fields.input);
    const total = fields.total === undefined ? undefined : counts.extra(usage[fields.total], fields.total);
    return { promptTokens: input, completionTokens: 0, totalTokens: total ?? input };
  });
}

/** The log line's fields and message for a vendor's unusable usage (see UsageFault). */
export function usageFaultLine(fault: UsageFault): { fields: Record<string, string>; usage: "estimated" | "kept"; message: string } {
  return fault.discarded
    ? {
        fields: fault.fields,
        usage: "estimated",
        message: "vendor fault: the answer's usage cannot be true (see fields: counts must be whole numbers from 0 to 2147483647); the call's usage is estimated, as for a vendor that reports none",
      }
    : { fields: fault.fields, usage: "kept", message: "vendor fault: a total or detail of the answer's token counts is unusable and was left out; the other counts were kept" };
}
