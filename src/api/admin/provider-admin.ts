import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { BadRequestSchema, BadRequest_FieldViolationSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import {
  CanaryProgressSchema,
  CredentialState,
  ListProvidersResponseSchema,
  ProviderCredentialSchema,
  ProviderSchema,
  type ProviderCredential,
} from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import type { Logger } from "../../observability/logger.js";
import { KeyPoolError, type KeyState, type KeyView } from "../../secrets/key-pool.js";
import type { PoolAction, PoolActionBus } from "../../secrets/pool-action-bus.js";
import type { ProviderPools } from "../../secrets/provider-pools.js";

const STATE: Record<KeyState, CredentialState> = {
  active: CredentialState.ACTIVE,
  standby: CredentialState.STANDBY,
  cooling_down: CredentialState.COOLING_DOWN,
  disabled: CredentialState.DISABLED,
  draining: CredentialState.DRAINING,
  retired: CredentialState.RETIRED,
};

const MAX_PAGE = 1000;

/**
 * The AdminService's provider-credential methods: list the pools, stage,
 * promote, roll back and disable keys. Answers name keys by resource name
 * and fingerprint only; the admin scope is checked by the auth interceptor.
 * With a bus (Redis), each action that succeeds here goes to every other
 * instance too.
 */
export function createProviderAdmin(
  pools: ProviderPools,
  dialects: ReadonlyMap<string, string>,
  logger: Logger,
  bus?: PoolActionBus,
): Partial<ServiceImpl<typeof AdminService>> {
  const log = logger.child({ component: "admin" });
  const actor = (ctx: HandlerContext) => ctx.values.get(principalKey)?.keyId ?? "unknown";
  const tellFleet = (action: PoolAction) => bus?.publish(action);

  return {
    listProviders(req) {
      if (req.pageSize < 0) throw invalid("page_size", "must not be negative");
      const names = pools.names().sort();
      let start = 0;
      if (req.pageToken) {
        const after = decodeToken(req.pageToken);
        if (after === undefined) throw invalid("page_token", "is not a token from a previous ListProviders answer");
        start = names.findIndex((name) => name > after);
        if (start < 0) start = names.length;
      }
      const size = Math.min(req.pageSize || MAX_PAGE, MAX_PAGE);
      const page = names.slice(start, start + size);
      const more = start + size < names.length;
      return create(ListProvidersResponseSchema, {
        providers: page.map((name) =>
          create(ProviderSchema, {
            name: `providers/${name}`,
            dialect: dialects.get(name) ?? "",
            credentials: pools.pool(name)!.list().map((view) => toCredential(name, view)),
          }),
        ),
        nextPageToken: more ? encodeToken(page[page.length - 1]!) : "",
      });
    },

    async stageKey(req, ctx) {
      const provider = parseProvider(req.parent, "parent");
      if (!req.credentialId) throw invalid("credential_id", "is required");
      if (!req.secretRef) throw invalid("secret_ref", "is required: a reference such as \"vault:secret/switchboard/openai#api_key\", never the secret itself");
      if (req.weight < 0) throw invalid("weight", "must not be negative");
      if (req.trafficShare < 0 || req.trafficShare > 1) throw invalid("traffic_share", "must be above 0 and at most 1 (0 for the default)");
      if (req.promoteAfter < 0) throw invalid("promote_after", "must not be negative");
      const replaces = req.replaces ? parseCredential(req.replaces, "replaces") : undefined;
      if (replaces && replaces.provider !== provider) throw invalid("replaces", `must be a credential of providers/${provider}`);
      const request = {
        credentialId: req.credentialId,
        secretRef: req.secretRef,
        secondaryRef: req.secondaryRef || undefined,
        replaces: replaces?.id,
        weight: req.weight || undefined,
        share: req.trafficShare || undefined,
        promoteAfter: req.promoteAfter || undefined,
      };
      const view = await guard(() => pools.stage(provider, request));
      log.info({ actor: actor(ctx), provider, credential: view.id, fingerprint: view.fingerprint, source: view.source }, "admin staged a key");
      await tellFleet({ op: "stage", provider, request });
      return { credential: toCredential(provider, view) };
    },

    async promoteKey(req, ctx) {
      const target = parseCredential(req.name, "name");
      const reason = `promoted by "${actor(ctx)}"`;
      const { promoted, replaced } = await guard(() => pool(target.provider).promote(target.id, "promoted", reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: promoted.id, fingerprint: promoted.fingerprint }, "admin promoted a key");
      await tellFleet({ op: "promote", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, promoted), replaced: replaced && toCredential(target.provider, replaced) };
    },

    async rollbackKey(req, ctx) {
      const target = parseCredential(req.name, "name");
      const reason = `rolled back by "${actor(ctx)}"${req.reason ? `: ${req.reason.slice(0, 200)}` : ""}`;
      const view = await guard(() => pool(target.provider).rollback(target.id, "rolled_back", reason));
      log.info({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin rolled back a key");
      await tellFleet({ op: "rollback", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, view) };
    },

    async disableKey(req, ctx) {
      const target = parseCredential(req.name, "name");
      const reason = `disabled by "${actor(ctx)}"${req.reason ? `: ${req.reason.slice(0, 200)}` : ""}`;
      const view = await guard(() => pool(target.provider).disable(target.id, reason));
      log.warn({ actor: actor(ctx), provider: target.provider, credential: view.id, fingerprint: view.fingerprint }, "admin disabled a key");
      await tellFleet({ op: "disable", provider: target.provider, credentialId: target.id, reason });
      return { credential: toCredential(target.provider, view) };
    },
  };

  function pool(provider: string) {
    const found = pools.pool(provider);
    if (!found) throw new ConnectError(`no provider "${provider}"`, Code.NotFound);
    return found;
  }
}

/** The resource an operator sees: never the secret. */
export function toCredential(provider: string, view: KeyView): ProviderCredential {
  const canary = view.canary;
  return create(ProviderCredentialSchema, {
    name: `providers/${provider}/credentials/${view.id.slice(provider.length + 1)}`,
    fingerprint: view.fingerprint,
    state: STATE[view.state],
    stateReason: view.reason,
    stateTime: timestampFromMs(view.since),
    nextTransitionTime: view.nextAt !== undefined ? timestampFromMs(view.nextAt) : undefined,
    weight: view.weight,
    trafficShare: view.trafficShare,
    recentSuccesses: BigInt(view.recentSuccesses),
    recentErrors: BigInt(view.recentErrors),
    secretRef: view.source ?? "",
    version: BigInt(view.version ?? 0),
    canary: canary
      ? create(CanaryProgressSchema, {
          trafficShare: canary.share,
          successes: BigInt(canary.successes),
          errors: BigInt(canary.errors),
          promoteAfter: BigInt(canary.promoteAfter),
          activeErrorRate: canary.activeErrorRate,
          replaces: canary.replaces ? `providers/${provider}/credentials/${canary.replaces.slice(provider.length + 1)}` : "",
          stageTime: timestampFromMs(canary.stagedAt),
        })
      : undefined,
  });
}

function parseProvider(name: string, field: string): string {
  const match = /^providers\/([a-z0-9][a-z0-9_-]*)$/.exec(name);
  if (!match) throw invalid(field, 'must be a provider name such as "providers/openai"');
  return match[1]!;
}

/** `providers/{provider}/credentials/{credential}` → the provider and the pool's credential id ("openai/primary@v3"). */
function parseCredential(name: string, field: string): { provider: string; id: string } {
  const match = /^providers\/([a-z0-9][a-z0-9_-]*)\/credentials\/([A-Za-z0-9][A-Za-z0-9._@-]*)$/.exec(name);
  if (!match) throw invalid(field, 'must be a credential name such as "providers/openai/credentials/primary@v3"');
  return { provider: match[1]!, id: `${match[1]}/${match[2]}` };
}

/** Runs a pool action, turning its refusals into the matching Connect codes. */
async function guard<T>(action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof KeyPoolError)) throw err;
    if (err.code === "invalid_argument" && err.field) throw badRequest(err.field, err.message);
    const code = {
      not_found: Code.NotFound,
      already_exists: Code.AlreadyExists,
      failed_precondition: Code.FailedPrecondition,
      invalid_argument: Code.InvalidArgument,
    }[err.code];
    throw new ConnectError(err.message, code);
  }
}

function invalid(field: string, problem: string): ConnectError {
  return badRequest(field, `${field} ${problem}`);
}

/** InvalidArgument with a google.rpc.BadRequest naming the field to fix. */
function badRequest(field: string, message: string): ConnectError {
  const details = create(BadRequestSchema, { fieldViolations: [create(BadRequest_FieldViolationSchema, { field, description: message })] });
  return new ConnectError(message, Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: details }]);
}

function encodeToken(after: string): string {
  return Buffer.from(`after:${after}`, "utf8").toString("base64url");
}

function decodeToken(token: string): string | undefined {
  const text = Buffer.from(token, "base64url").toString("utf8");
  return text.startsWith("after:") ? text.slice("after:".length) : undefined;
}
