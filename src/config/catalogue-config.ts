// The model catalogue's part of the configuration: the operator's own rows
// (`models:`, added to or over the shipped vendor files: a fine-tuned model,
// a new release, a negotiated price) and what a route does with a request its
// model cannot honour (`when_unsupported`).
import { z } from "zod";
import { CatalogueError, validateOperatorRow } from "../catalogue/catalogue.js";
import type { UnsupportedPolicy } from "../catalogue/request-fitting.js";
import { API_NAMES, type OperatorRow, type Parameter } from "../catalogue/schema.js";
import { ConfigError } from "./config-error.js";

export interface CatalogueConfig {
  /** The operator's rows, validated (each with its source). */
  models: OperatorRow[];
  /** For routes that say nothing: degrade a JSON schema to JSON mode (the default), or refuse with Unimplemented. */
  whenUnsupported: UnsupportedPolicy;
}

const policy = z.enum(["degrade", "refuse"]);

/** The YAML file's fields for the catalogue (merged into the file schema). Rows are checked against the catalogue's own schema. */
export const catalogueFileFields = {
  models: z.array(z.record(z.string(), z.unknown())).optional(),
  catalogue: z.strictObject({ when_unsupported: policy.optional() }).optional(),
};
/** A route's own policy (merged into the route schema). */
export const routePolicyField = { when_unsupported: policy.optional() };

const PARAMETER_OF_API_NAME = new Map(Object.entries(API_NAMES).map(([parameter, name]) => [name, parameter as Parameter]));

export function buildCatalogueConfig(file: { models?: Record<string, unknown>[]; catalogue?: { when_unsupported?: UnsupportedPolicy } }, source: string): CatalogueConfig {
  const models = (file.models ?? []).map((raw, index) => {
    try {
      return validateOperatorRow(camelCase(raw), `models[${index}]`);
    } catch (err) {
      if (!(err instanceof CatalogueError)) throw err;
      const [field, ...rest] = err.where.split(": ");
      throw new ConfigError(source, snakeCase([field, ...rest].join(".")), err.problem);
    }
  });
  return { models, whenUnsupported: file.catalogue?.when_unsupported ?? "degrade" };
}

/**
 * A YAML row in the catalogue's camelCase: keys converted
 * (max_output_tokens → maxOutputTokens), and the parameter names the rules
 * list (unsupported: [top_p]) turned into the catalogue's own.
 */
/** Every price of the operator's rows must be convertible into the accounting currency. */
export function checkCatalogueCurrencies(config: CatalogueConfig, rates: Readonly<Record<string, number>>, accounting: string, source: string): void {
  config.models.forEach((row, index) => {
    const currency = row.price?.currency;
    if (currency !== undefined && rates[currency] === undefined) {
      throw new ConfigError(source, `models[${index}].price.currency`, `no exchange rate from ${currency} to ${accounting}: add pricing.exchange_rates.${currency}`);
    }
  });
}

function camelCase(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((item) => camelCase(item, key));
  if (typeof value === "string" && PARAMETER_LISTS.has(key)) return PARAMETER_OF_API_NAME.get(value) ?? value;
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [toCamel(name), camelCase(item, name)]));
}

/** Rule lists whose items are parameter names. */
const PARAMETER_LISTS = new Set(["unsupported", "ignored", "exclusive"]);

function toCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
