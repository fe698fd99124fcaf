import { compileGlob, isGlob } from "../common/glob.js";
import { mergeFacts, type ResolvedFacts } from "./facts.js";
import { operatorRowSchema, vendorSchema, type Facts, type OperatorRow, type Row, type Source, type Vendor } from "./schema.js";
import { SHIPPED_VENDORS } from "./vendors/index.js";

/** What the catalogue knows of one model as one provider serves it. */
export interface ModelEntry {
  /** The vendor (provider name) whose rows describe it. */
  vendor: string;
  /** The model asked about. */
  model: string;
  /** The most specific row that matched ("gpt-4o-mini" for "gpt-4o-mini-2024-07-18"); "" when only the vendor's defaults did. */
  row: string;
  /** The row's snapshots: other names of its very model, at its price (schema.ts). */
  snapshots: readonly string[];
  /** The facts; a price only from a row that is this model's own (its name, or a snapshot it lists) or a family's. */
  facts: ResolvedFacts;
  /** The source of the most specific row (or of the vendor's defaults). */
  source: Source;
}

/** A catalogue file or operator row that does not validate; `where` names it. */
export class CatalogueError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = "CatalogueError";
  }
}

interface Layer {
  facts: Facts;
  name: string;
  snapshots: readonly string[];
  source: Source;
}

interface RowSet {
  exact: Map<string, Layer>;
  /** Each snapshot a row lists, to the row's name. */
  snapshots: Map<string, string>;
  globs: { matches: (model: string) => boolean; specificity: number; layer: Layer }[];
}

interface CompiledVendor {
  vendor: Vendor | undefined;
  shipped: RowSet;
  operator: RowSet;
}

/** Lookups remembered, at most: model names come from callers. */
const MEMO_LIMIT = 10_000;

/**
 * The model catalogue: the shipped vendor files (src/catalogue/vendors/)
 * under the operator's `models:` rows. A model is described by layers, least
 * specific first: its vendor's defaults, every family (glob) row that matches
 * it, its own row (the row that names it, or lists it as a snapshot; else,
 * for a dated or suffixed name such as "gpt-4o-2024-05-13", the longest row
 * name it starts with followed by "-", "@" or ":", but not by a later version
 * number, and then without that row's price), the operator's rows the same
 * way, and last what differs by the dialect its provider speaks. A
 * provider the catalogue has no file for (a custom name, Ollama, vLLM) is
 * described by whichever vendor's row names the model, if any.
 */
export class Catalogue {
  private readonly vendors = new Map<string, CompiledVendor>();
  private readonly memo = new Map<string, ModelEntry | null>();

  constructor(vendors: readonly unknown[], operatorRows: readonly unknown[] = []) {
    for (const [index, raw] of vendors.entries()) {
      const vendor = validateVendor(raw, `catalogue vendor file #${index + 1}`);
      if (this.vendors.has(vendor.provider)) throw new CatalogueError(`catalogue vendor "${vendor.provider}"`, "is defined twice");
      this.vendors.set(vendor.provider, { vendor, shipped: compileRows(vendor.models, `catalogue vendor "${vendor.provider}"`), operator: emptyRows() });
    }
    for (const [index, raw] of operatorRows.entries()) {
      const row = validateOperatorRow(raw, `models[${index}]`);
      let compiled = this.vendors.get(row.provider);
      if (!compiled) this.vendors.set(row.provider, (compiled = { vendor: undefined, shipped: emptyRows(), operator: emptyRows() }));
      addRow(compiled.operator, row, `models[${index}]`);
    }
  }

  /** The shipped vendor files, under the operator's rows. */
  static shipped(operatorRows: readonly unknown[] = []): Catalogue {
    return new Catalogue(SHIPPED_VENDORS, operatorRows);
  }

  /** What is known of `model` as `provider` serves it (speaking `dialect`, when known); undefined when nothing is. */
  lookup(provider: string, model: string, dialect?: string): ModelEntry | undefined {
    const key = `${provider}\u0000${model}\u0000${dialect ?? ""}`;
    let found = this.memo.get(key);
    if (found === undefined) {
      found = this.resolve(provider, model, dialect) ?? null;
      if (this.memo.size < MEMO_LIMIT) this.memo.set(key, found);
    }
    return found ?? undefined;
  }

  /** The models a provider's rows name (families left out), each as `lookup` describes it. */
  models(provider: string, dialect?: string): ModelEntry[] {
    const compiled = this.vendors.get(provider);
    if (!compiled) return [];
    const names = new Set([...compiled.shipped.exact.keys(), ...compiled.operator.exact.keys()]);
    return [...names].sort().map((name) => this.lookup(provider, name, dialect)!);
  }

  /** Every vendor with rows, shipped ones first, for docs/models.md. */
  providers(): string[] {
    return [...this.vendors.keys()];
  }

  /** The vendor's own facts (its defaults), for docs. */
  vendor(provider: string): Vendor | undefined {
    return this.vendors.get(provider)?.vendor;
  }

  private resolve(provider: string, model: string, dialect: string | undefined): ModelEntry | undefined {
    const own = this.vendors.get(provider) ?? this.speaking(dialect);
    const ownLayers = own ? matchingLayers(own, model) : [];
    if (own && ownLayers.length > 0) return entry(own.vendor?.provider ?? provider, own, model, ownLayers, dialect);
    // Another vendor's row that names the model (not a family: "gpt-*" says nothing of what a proxy serves).
    for (const [name, other] of this.vendors) {
      if (name === provider) continue;
      // Only the rows: the vendor's defaults and wire names describe its API, not what another server takes.
      const layers = matchingLayers(other, model, false);
      if (layers.length > 0) return entry(name, { ...other, vendor: undefined }, model, layers, undefined);
    }
    return own?.vendor ? entry(own.vendor.provider, own, model, [], dialect) : undefined;
  }

  /** The vendor whose native dialect this is (Anthropic's Messages API is Anthropic's, whatever the provider is named). */
  private speaking(dialect: string | undefined): CompiledVendor | undefined {
    if (!dialect) return undefined;
    for (const compiled of this.vendors.values()) if (compiled.vendor?.nativeDialect === dialect) return compiled;
    return undefined;
  }
}

/** The facts of the layers over the vendor's defaults (when it has a file), and its dialect's last; there is always a layer or a vendor. */
function entry(vendorName: string, compiled: CompiledVendor, model: string, layers: Layer[], dialect: string | undefined): ModelEntry {
  const vendor = compiled.vendor;
  let facts: Facts = vendor?.defaults ?? {};
  for (const layer of layers) facts = mergeFacts(facts, layer.facts);
  const dialectFacts = dialect ? vendor?.dialects?.[dialect] : undefined;
  if (dialectFacts) facts = mergeFacts(facts, dialectFacts);
  const last = layers.at(-1);
  return {
    vendor: vendorName,
    model,
    row: last?.name ?? "",
    snapshots: last?.snapshots ?? [],
    facts: resolved(facts),
    source: last?.source ?? vendor!.defaults.source,
  };
}

function resolved(facts: Facts): ResolvedFacts {
  return { ...facts, kind: facts.kind ?? (facts.embedding ? "embedding" : "chat"), parameters: facts.parameters ?? {}, wire: facts.wire ?? {}, reasoning: facts.reasoning ?? undefined };
}

/** Shipped layers then the operator's, each: matching families (least specific first), then the model's own row. */
function matchingLayers(compiled: CompiledVendor, model: string, withGlobs = true): Layer[] {
  // A snapshot is its row's model wherever it is listed: an operator's row of that name (a negotiated price) covers it too.
  const snapshotOf = compiled.operator.snapshots.get(model) ?? compiled.shipped.snapshots.get(model);
  return [...layersOf(compiled.shipped, model, snapshotOf, withGlobs), ...layersOf(compiled.operator, model, snapshotOf, withGlobs)];
}

function layersOf(rows: RowSet, model: string, snapshotOf: string | undefined, withGlobs: boolean): Layer[] {
  const layers = withGlobs ? rows.globs.filter((glob) => glob.matches(model)).map((glob) => glob.layer) : [];
  const own = rows.exact.get(model) ?? (snapshotOf === undefined ? undefined : rows.exact.get(snapshotOf)) ?? withoutPrice(longestPrefix(rows.exact, model));
  return own ? [...layers, own] : layers;
}

/**
 * A row matched only by the start of a name: its limits and rules are the
 * best guess for the model, but not its price. "o1-pro" costs 10 times
 * "o1", "gpt-4o-2024-05-13" twice "gpt-4o", and "gpt-4o-search-preview"
 * adds a fee per call; priced as the row, a budget would count a fraction of
 * what the vendor bills.
 */
function withoutPrice(layer: Layer | undefined): Layer | undefined {
  return layer && { ...layer, facts: { ...layer.facts, price: undefined } };
}

/** A version number after a row's name: one or two digits, not a leading zero (dates such as "-05-06" are not one), then nothing or a separator. */
const LATER_VERSION = /^-[1-9]\d?(?=$|[-.@:])/;

/**
 * A dated or suffixed version: the longest row name it starts with, followed by "-", "@" or ":".
 * Not when a version number follows ("-9", "-10", "-5.1"; "-0" is the row's own ".0", as in
 * "claude-opus-4-0"): "claude-opus-4-9-20270101" is a later model than "claude-opus-4", and
 * an older row's facts (its limits, prices, and what it refuses, such as system messages
 * mid-conversation) would be wrong for it. Such a model has what its families (globs) say
 * of every model they match ("claude-*"), and the vendor's defaults, until it has a row.
 */
function longestPrefix(exact: Map<string, Layer>, model: string): Layer | undefined {
  let best: Layer | undefined;
  for (const [name, layer] of exact) {
    if (name.length <= (best?.name.length ?? 0) || !model.startsWith(name)) continue;
    const rest = model.slice(name.length);
    if (/^[-@:]/.test(rest) && !LATER_VERSION.test(rest)) best = layer;
  }
  return best;
}

function emptyRows(): RowSet {
  return { exact: new Map(), snapshots: new Map(), globs: [] };
}

function compileRows(rows: Row[], where: string): RowSet {
  const set = emptyRows();
  rows.forEach((row, index) => addRow(set, row, `${where}, models[${index}] (${row.model})`));
  return set;
}

function addRow(set: RowSet, row: Row | OperatorRow, where: string): void {
  const { model, source } = row;
  const snapshots = row.snapshots ?? [];
  const facts = factsOf(row);
  const layer: Layer = { facts, name: model, snapshots, source };
  if (isGlob(model)) {
    if (snapshots.length > 0) throw new CatalogueError(where, `a family ("${model}") has no snapshots: list them on a model's row`);
    if (set.globs.some((glob) => glob.layer.name === model)) throw new CatalogueError(where, `"${model}" has two rows`);
    // A family with more fixed characters is more specific: it is applied later, so it wins.
    set.globs.push({ matches: compileGlob(model), specificity: model.replace(/[*?]/g, "").length, layer });
    set.globs.sort((a, b) => a.specificity - b.specificity);
    return;
  }
  if (set.exact.has(model)) throw new CatalogueError(where, `"${model}" has two rows`);
  if (set.snapshots.has(model)) throw new CatalogueError(where, `"${model}" is a snapshot of "${set.snapshots.get(model)}" and cannot have a row of its own`);
  for (const snapshot of snapshots) {
    const taken = set.exact.has(snapshot) || snapshot === model ? `has a row of its own` : set.snapshots.has(snapshot) ? `is a snapshot of "${set.snapshots.get(snapshot)}"` : undefined;
    if (taken) throw new CatalogueError(where, `snapshot "${snapshot}" ${taken}`);
    set.snapshots.set(snapshot, model);
  }
  set.exact.set(model, layer);
}

function factsOf(row: Row | OperatorRow): Facts {
  const facts: Record<string, unknown> = { ...row };
  delete facts.model;
  delete facts.snapshots;
  delete facts.source;
  delete facts.provider;
  return facts as Facts;
}

/** A vendor file, checked: a row without a source, an unknown field or a wrong type is refused, naming the row. */
export function validateVendor(raw: unknown, where: string): Vendor {
  const named = typeof raw === "object" && raw !== null && typeof (raw as { provider?: unknown }).provider === "string" ? `catalogue vendor "${(raw as { provider: string }).provider}"` : where;
  const parsed = vendorSchema.safeParse(raw);
  if (!parsed.success) throw fromIssues(named, parsed.error.issues, raw);
  return parsed.data;
}

export function validateOperatorRow(raw: unknown, where: string): OperatorRow {
  const parsed = operatorRowSchema.safeParse(raw);
  if (!parsed.success) throw fromIssues(where, parsed.error.issues, raw);
  return parsed.data;
}

function fromIssues(where: string, issues: readonly { path: PropertyKey[]; message: string; code: string; keys?: string[] }[], raw: unknown): CatalogueError {
  const issue = issues[0]!;
  const path = issue.path.map(String);
  // Name the row by its model, as people look for it.
  let at = where;
  if (path[0] === "models" && path.length >= 2) {
    const model = (raw as { models?: { model?: unknown }[] }).models?.[Number(path[1])]?.model;
    at = `${where}, models[${path[1]}]${typeof model === "string" ? ` (${model})` : ""}`;
    path.splice(0, 2);
  }
  const field = path.join(".");
  const problem = issue.code === "unrecognized_keys" ? `unknown field(s) ${(issue.keys ?? []).map((k) => `"${k}"`).join(", ")}` : issue.message;
  return new CatalogueError(field ? `${at}: ${field}` : at, problem);
}
