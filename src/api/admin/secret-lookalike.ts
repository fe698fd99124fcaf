import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { GatewayKey } from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { badRequestOf } from "../../common/bad-request.js";
import { holdsKey, holdsSecret } from "../../providers/redact.js";
import { MAX_FIELD_VIOLATIONS } from "../aip/field-violations.js";

/** The ErrorInfo reason of an admin write refused because a name, label, reference or reason in it holds a secret. */
export const SECRET_IN_FIELD = "SECRET_IN_FIELD";

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
] as const;

/** The values of OWN_SECRET_VARIABLES set in `env`. */
export function ownSecretsOf(env: NodeJS.ProcessEnv): string[] {
  return OWN_SECRET_VARIABLES.map((name) => env[name]).filter((value): value is string => !!value);
}

type Admin = ServiceImpl<typeof AdminService>;
type WrittenField = [field: string, text: string];

/**
 * The text each AdminService write keeps, by field as the caller wrote it:
 * key ids, names, teams and model globs go into log lines, /metrics labels,
 * the usage ledger and reports; credential ids, references and reasons into
 * ListProviders and the pools' log lines. The secrets a write carries on
 * purpose (a stored secret's `value`) are not listed; lookups (`name`,
 * `parent`, filters) are not kept.
 */
const WRITTEN_TEXT: { [M in keyof Admin]?: (req: Parameters<Admin[M]>[0]) => WrittenField[] } = {
  createKey: (req) => [["key_id", req.keyId], ...keyTexts(req.key)],
  updateKey: (req) => keyTexts(req.key),
  stageKey: (req) => [
    ["credential_id", req.credentialId],
    ["secret_ref", req.secretRef],
    ["secondary_ref", req.secondaryRef],
  ],
  rollbackKey: (req) => [["reason", req.reason]],
  disableKey: (req) => [["reason", req.reason]],
  createStoredSecret: (req) => [["secret_id", req.secretId]],
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
 * holdsKey), a vendor key of the pools, or one of `ownSecrets` (holdsSecret).
 * The answer names the fields, never what they hold.
 */
function refuseSecrets(fields: readonly WrittenField[], ownSecrets: readonly string[]): void {
  const holding = fields.filter(([, text]) => text !== "" && (holdsKey(text) || holdsSecret(text, ownSecrets))).map(([field]) => field);
  if (holding.length === 0) return;
  const description = "holds what looks like a secret (a key or token): it would be kept in logs, metrics and reports; write a name, never a secret";
  // As FieldViolations lists them: 400 globs each holding a key make no megabyte answer.
  throw badRequestOf(
    holding.slice(0, MAX_FIELD_VIOLATIONS).map((field) => ({ field, description })),
    SECRET_IN_FIELD,
    { field: holding[0]! },
  );
}
