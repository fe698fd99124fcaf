import type { BudgetPeriodName, ExhaustedActionName } from "../config/usage-config.js";
import { compileGlob } from "../common/glob.js";

/** A gateway key as stored: settings and a digest, never the key itself. */
export interface KeyRecord {
  /** The `{key}` of the resource name `keys/{key}`. */
  id: string;
  /** Hex HMAC-SHA256 of the key under the pepper. */
  digest: string;
  /** "sk-sb-…AbCd": enough to recognise a key, not to use it. */
  keyHint: string;
  displayName: string;
  team: string;
  admin: boolean;
  /** With `admin`: may only read through the AdminService. Unset: false. */
  adminReadOnly?: boolean;
  /** Model globs; empty means every model. */
  allowedModels: string[];
  /** 0: unlimited. */
  requestsPerMinute: number;
  /** 0: unlimited. */
  tokensPerMinute: number;
  budget?: KeyBudget;
  economyModels: EconomyMapping[];
  expireMs?: number;
  /** The id of the key that made it ("master" for the master key); unset for keys from before this was kept. Never changes. */
  createdBy?: string;
  createMs: number;
  updateMs: number;
  revokeMs?: number;
}

export interface KeyBudget {
  /** Per period, in nano-units of the accounting currency. */
  limitNanos: number;
  period: BudgetPeriodName;
  /** 0 < t <= 1: from this share of the limit, economy mappings apply. */
  softThreshold: number;
  whenExhausted: ExhaustedActionName;
}

export interface EconomyMapping {
  /** A requested model name or glob. */
  model: string;
  /** The model served instead. */
  economyModel: string;
}

/** How much of a key's scope an error message quotes. */
const SCOPE_GLOBS_SHOWN = 10;
const SCOPE_GLOB_CHARS = 64;

/** What the pipeline asks of a key on every call, compiled once per cache fill. */
export class KeyPolicy {
  private readonly allowed: ((name: string) => boolean)[];
  private readonly economy: { matches: (name: string) => boolean; economyModel: string }[];
  private readonly economyTargets: Set<string>;

  constructor(readonly record: KeyRecord) {
    this.allowed = record.allowedModels.map(compileGlob);
    this.economy = record.economyModels.map((mapping) => ({ matches: compileGlob(mapping.model), economyModel: mapping.economyModel }));
    this.economyTargets = new Set(record.economyModels.map((mapping) => mapping.economyModel));
  }

  /**
   * Whether the key may be served by a model, judged on what would actually
   * be called: the vendor's model name ("gpt-4o-mini") or "provider/model"
   * ("openai/gpt-4o-mini"). The name a caller asked for is not enough: an
   * alias, a fallback or an economy model may call something else.
   */
  allows(called: { provider: string; upstreamModel: string }): boolean {
    if (this.allowed.length === 0) return true;
    const qualified = `${called.provider}/${called.upstreamModel}`;
    return this.allowed.some((matches) => matches(called.upstreamModel) || matches(qualified));
  }

  /** The scope as written, for error messages: its first globs only, so a long scope cannot swell every refusal and its log line. */
  get scope(): string {
    const models = this.record.allowedModels;
    const shown = models.slice(0, SCOPE_GLOBS_SHOWN).map((glob) => (glob.length > SCOPE_GLOB_CHARS ? `${glob.slice(0, SCOPE_GLOB_CHARS)}…` : glob));
    const rest = models.length - shown.length;
    return rest > 0 ? `${shown.join(", ")}, … (${rest} more)` : shown.join(", ");
  }

  /** The economy model for a requested model, if the key maps it. */
  economyFor(requestedModel: string): string | undefined {
    return this.economy.find((mapping) => mapping.matches(requestedModel))?.economyModel;
  }

  /** Whether the model is itself one of the key's economy models (allowed when the budget is spent, in economy-only mode). */
  isEconomyModel(requestedModel: string): boolean {
    return this.economyTargets.has(requestedModel);
  }

  expired(now = Date.now()): boolean {
    return this.record.expireMs !== undefined && this.record.expireMs <= now;
  }
}
