import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { GatewayKey } from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { holdsKey, holdsSecret } from "../../providers/redact.js";
import { secretInField } from "../secret-in-field.js";

/**
 * Variables holding the gateway's own secrets (its master key, the keys of
 * its stores and cache, its Vault and AWS credentials): an admin's text may
 * hold none of them either, whatever their shape.
 */
const OWN_SECRET_VARIABLES = [
  "SWITCHBOARD_MASTER_KEY",
  "SWITCHBOARD_ADMIN_KEY",
  "SWITCHBOARD_METRICS_TOKEN",
  "SWITCHBOARD_PEPPER",
  "SWITCHBOARD_SECRET_KEY",
  "SWITCHBOARD_SECRET_KEY_PREVIOUS",
  "SWITCHBOARD_CACHE_KEY",
  "VAULT_TOKEN",
  "VAULT_SECRET_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
] as const;

/** Variables holding a comma-separated list of secrets (kek-local.ts): each entry is a secret of its own. */
const SECRET_LISTS: ReadonlySet<string> = new Set(["SWITCHBOARD_SECRET_KEY_PREVIOUS"]);

/** Variables holding OTLP headers ("name=value,…", values %-encoded): each value is the tracing service's credential. */
const HEADER_LISTS: ReadonlySet<string> = new Set(["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]);

/**
 * Variables holding a URL whose password is a secret (DATABASE_URL,
 * REDIS_URL, SWITCHBOARD_CACHE_REDIS_URL, OTEL_EXPORTER_OTLP_ENDPOINT and
 * its _TRACES_ form, a vendor's _BASE_URL): any whose name ends so. Only the
 * password is a secret; the rest of the URL is an address.
 */
const URL_VARIABLE = /_(URL|ENDPOINT)$/;

/** The values of OWN_SECRET_VARIABLES set in `env` (each entry of a list, each header's value), and the password of each URL variable. */
export function ownSecretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets = OWN_SECRET_VARIABLES.flatMap((name) => {
    const value = env[name];
    if (!value) return [];
    if (HEADER_LISTS.has(name)) return listEntries(value).flatMap((header) => (header.includes("=") ? asWrittenAndDecoded(header.slice(header.indexOf("=") + 1).trim()) : []));
    return SECRET_LISTS.has(name) ? listEntries(value) : [value];
  });
  for (const [name, value] of Object.entries(env)) if (value && URL_VARIABLE.test(name)) secrets.push(...passwordOf(value));
  return [...new Set(secrets.filter(Boolean))];
}

function listEntries(value: string): string[] {
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** The password in a URL's userinfo, as written there and %-decoded (as a client sends it), when it has one. */
function passwordOf(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  return url.password ? asWrittenAndDecoded(url.password) : [];
}

function asWrittenAndDecoded(text: string): string[] {
  try {
    return [text, decodeURIComponent(text)];
  } catch {
    return [text];
  }
}

type Admin = ServiceImpl<typeof AdminService>;
type WrittenField = [field: string, text: string];

/**
 * The text each AdminService method keeps or quotes, by field as the caller
 * wrote it: key ids, names, teams and model globs go into log lines, /metrics
 * labels, the usage ledger and reports; credential ids, references and
 * reasons into ListProviders and the pools' log lines; the resource names a
 * method looks up (`name`, `parent`, a `key` filter) into its NotFound and
 * the call's log line (a name that fits its pattern is quoted, and a master
 * key may fit a key's). The secrets a write carries on purpose (a stored
 * secret's `value`) are not listed.
 */
const WRITTEN_TEXT: { [M in keyof Admin]?: (req: Parameters<Admin[M]>[0]) => WrittenField[] } = {
  createKey: (req) => [["key_id", req.keyId], ...keyTexts(req.key)],
  getKey: (req) => [["name", req.name]],
  updateKey: (req) => [["key.name", req.key?.name ?? ""], ...keyTexts(req.key)],
  revokeKey: (req) => [["name", req.name]],
  stageKey: (req) => [
    ["parent", req.parent],
    ["credential_id", req.credentialId],
    ["secret_ref", req.secretRef],
    ["secondary_ref", req.secondaryRef],
    ["replaces", req.replaces],
  ],
  promoteKey: (req) => [["name", req.name]],
  rollbackKey: (req) => [
    ["name", req.name],
    ["reason", req.reason],
  ],
  disableKey: (req) => [
    ["name", req.name],
    ["reason", req.reason],
  ],
  createStoredSecret: (req) => [["secret_id", req.secretId]],
  addStoredSecretVersion: (req) => [["parent", req.parent]],
  deleteStoredSecret: (req) => [["name", req.name]],
  getUsageReport: (req) => [["key", req.key]],
  getUsageStats: (req) => [["key", req.key]],
  watchCalls: (req) => [["key", req.key]],
  purgeCache: (req) => [["key", req.key]],
};

function keyTexts(key: GatewayKey | undefined): WrittenField[] {
  if (!key) return [];
  return [
    ["key.display_name", key.displayName],
    ["key.team", key.team],
    ...key.allowedModels.map((model, i): WrittenField => [`key.allowed_models[${i}]`, model]),
    ...key.economyModels.flatMap((mapping, i): WrittenField[] => [
      [`key.economy_models[${i}].model`, mapping.model],
      [`key.economy_models[${i}].economy_model`, mapping.economyModel],
    ]),
  ];
}

/**
 * `impl` with each write of WRITTEN_TEXT refused, before its handler reads
 * it, when a text it would keep holds a secret: pasted where a team or a
 * name goes, the master key would become a /metrics label, a ledger column
 * and a log field. Checked first, so no later refusal can quote it either.
 */
export function withSecretFreeText(impl: Admin, ownSecrets: readonly string[]): Admin {
  const checked: Record<string, unknown> = { ...impl };
  for (const [method, written] of Object.entries(WRITTEN_TEXT) as [keyof Admin, (req: unknown) => WrittenField[]][]) {
    const handle = impl[method] as unknown as (req: unknown, ctx: HandlerContext) => unknown;
    checked[method] = (req: unknown, ctx: HandlerContext) => {
      refuseSecrets(written(req), ownSecrets);
      return handle(req, ctx);
    };
  }
  return checked as Admin;
}

/**
 * Throws InvalidArgument (ErrorInfo SECRET_IN_FIELD, metadata `field`; a
 * BadRequest violation per field) when any text holds something shaped like
 * a key or token (a gateway key, a vendor's, a Vault token, an AWS key id:
 * holdsKey), a vendor key of the pools, or one of `ownSecrets`, whole
 * (holdsSecret): a piece of one is a name like any other, or every admin
 * key, a read-only one too, could grow a guessed piece into the secret a
 * character at a time. The answer names the fields, never what they hold.
 */
function refuseSecrets(fields: readonly WrittenField[], ownSecrets: readonly string[]): void {
  const holding = fields.filter(([, text]) => text !== "" && looksLikeSecret(text, ownSecrets)).map(([field]) => field);
  if (holding.length === 0) return;
  throw secretInField(holding, "holds what looks like a secret (a key or token): it would be kept in logs, metrics and reports; write a name, never a secret");
}

/** Whether a text written where a name goes holds a secret (see refuseSecrets); the CLI asks it of a file store's name too. */
export function looksLikeSecret(text: string, ownSecrets: readonly string[]): boolean {
  return holdsKey(text) || holdsSecret(text, ownSecrets);
}
