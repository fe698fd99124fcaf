import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { ListStoredSecretsResponseSchema, RewrapStoredSecretsResponseSchema } from "../../../gen/ts/switchboard/v1/admin_secrets_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import { badRequest } from "../../common/bad-request.js";
import type { Logger } from "../../observability/logger.js";
import type { DbSecretNotices } from "../../secrets/db-secret-notices.js";
import type { DbSecretSource } from "../../secrets/db-secret-source.js";
import { DbSecretError, kekRefusal } from "../../secrets/db-secret-store.js";
import { FieldViolations } from "../aip/field-violations.js";
import { createPageTokenCodec, readPageSize } from "../aip/pagination.js";
import { MANAGE_VENDOR_KEYS, requireMaster } from "./admin-containment.js";
import { STORED_SECRET_NAME, toStoredSecret, toStoredVersion } from "./secrets-admin-messages.js";

export interface SecretsAdminDeps {
  /** The `db:` source: its store, and the watchers to wake after a write. */
  source: DbSecretSource;
  /** With Redis: tells every instance sharing the database about a new version at once. */
  notices?: DbSecretNotices;
  logger: Logger;
}

/** The part of the AdminService that createSecretsAdmin implements. */
export type SecretsAdmin = Pick<
  ServiceImpl<typeof AdminService>,
  "createStoredSecret" | "addStoredSecretVersion" | "listStoredSecrets" | "deleteStoredSecret" | "rewrapStoredSecrets"
>;

const SECRET_PAGES = createPageTokenCodec("ListStoredSecrets", (value): value is string => typeof value === "string");
const PAGE_SIZES = { default: 100, max: 1000 };

/**
 * The AdminService's stored-secret methods: vendor keys in the gateway's
 * own database (`db:NAME`). A value arrives in a request and is encrypted
 * at once; answers, log lines and errors carry names, versions and
 * fingerprints only. A new version reaches this instance's key pools now and
 * the other instances' through the Redis notice (or their next poll). Only
 * the master key may write them; admin keys may list them.
 */
export function createSecretsAdmin({ source, notices, logger }: SecretsAdminDeps): SecretsAdmin {
  const log = logger.child({ component: "admin" });
  const actor = (ctx: HandlerContext) => ctx.values.get(principalKey)?.keyId ?? "unknown";
  const store = source.store;
  const announce = async (name: string, version: number) => {
    await source.changed(name);
    await notices?.publish(name, version);
  };
  /** Stored secrets are vendor keys every gateway key's calls use: writing them is the master key's alone. */
  const requireMasterFor = (ctx: HandlerContext) => requireMaster(ctx.values.get(principalKey), MANAGE_VENDOR_KEYS, "may not change stored secrets");

  return {
    async createStoredSecret(req, ctx) {
      requireMasterFor(ctx);
      const v = new FieldViolations();
      if (!req.secretId) v.add("secret_id", "is required");
      if (!req.value) v.add("value", "is required");
      v.throwIfAny();
      const stored = await guard(() => store.create(req.secretId, req.value, actor(ctx)));
      log.info({ actor: actor(ctx), secret: stored.name, version: stored.version, fingerprint: stored.fingerprint, kek: stored.kek }, "admin stored a secret");
      await announce(stored.name, stored.version);
      return { secret: toStoredSecret({ name: stored.name, latest: stored, versions: 1, createMs: stored.createMs }) };
    },

    async addStoredSecretVersion(req, ctx) {
      requireMasterFor(ctx);
      const v = new FieldViolations();
      const name = STORED_SECRET_NAME.read(req.parent, "parent", v)?.secret;
      if (!req.value) v.add("value", "is required");
      v.throwIfAny();
      const stored = await guard(() => store.addVersion(name!, req.value, actor(ctx)));
      log.info({ actor: actor(ctx), secret: stored.name, version: stored.version, fingerprint: stored.fingerprint, kek: stored.kek }, "admin added a secret version");
      await announce(stored.name, stored.version);
      return { version: toStoredVersion(stored) };
    },

    async listStoredSecrets(req) {
      const v = new FieldViolations();
      const size = readPageSize(req.pageSize, PAGE_SIZES, v);
      const after = SECRET_PAGES.decode(req.pageToken, v);
      v.throwIfAny();
      const all = await guard(() => store.list());
      const rest = after === undefined ? all : all.filter((secret) => secret.name > after);
      const page = rest.slice(0, size);
      return create(ListStoredSecretsResponseSchema, {
        secrets: page.map(toStoredSecret),
        nextPageToken: rest.length > size ? SECRET_PAGES.encode(page[page.length - 1]!.name) : "",
      });
    },

    async deleteStoredSecret(req, ctx) {
      requireMasterFor(ctx);
      const { secret } = STORED_SECRET_NAME.require(req.name, "name");
      if (!(await guard(() => store.remove(secret)))) throw new ConnectError(`no stored secret "${secret}"`, Code.NotFound);
      log.warn({ actor: actor(ctx), secret }, "admin deleted a stored secret");
      return {};
    },

    async rewrapStoredSecrets(req, ctx) {
      requireMasterFor(ctx);
      const result = await guard(() => store.rewrap({ all: req.all }));
      log.info({ actor: actor(ctx), ...result }, "admin rewrapped the stored secrets' data keys");
      return create(RewrapStoredSecretsResponseSchema, {
        keyEncryptionKey: result.kek,
        rewrappedCount: BigInt(result.rewrapped),
        unchangedCount: BigInt(result.unchanged),
        skippedCount: BigInt(result.skipped),
      });
    },
  };
}

const STORE_CODES = {
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  invalid_argument: Code.InvalidArgument,
  unavailable: Code.Unavailable,
};

/** Runs a store action, turning its refusals (and its key-encryption key's) into the matching Connect codes. */
async function guard<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    const refusal = err instanceof DbSecretError ? err : kekRefusal(err);
    if (!refusal) throw err;
    if (refusal.code === "invalid_argument" && refusal.field) throw badRequest({ field: refusal.field === "name" ? "secret_id" : refusal.field, description: refusal.message });
    throw new ConnectError(refusal.message, STORE_CODES[refusal.code]);
  }
}
