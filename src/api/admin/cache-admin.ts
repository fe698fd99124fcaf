import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { PurgeCacheResponseSchema, type PurgeCacheRequest } from "../../../gen/ts/switchboard/v1/cache_pb.js";
import type { KeyRecord } from "../../auth/key-policy.js";
import type { KeyStore } from "../../auth/key-store.js";
import { principalKey, type Principal } from "../../auth/principal.js";
import type { PurgeFilter } from "../../cache/redis-tier.js";
import { excerpt } from "../../common/excerpt.js";
import { gatewayError } from "../../common/gateway-error.js";
import type { Candidate, Router } from "../../gateway/router.js";
import { FieldViolations } from "../aip/field-violations.js";
import { callerId } from "./admin-containment.js";
import { KEY_NAME } from "./resource-names.js";
import { OUTSIDE_OWN_TEAM, requireOwnTeam, teamOf } from "./team-reach.js";
import { readFilter } from "./usage-requests.js";

export interface CacheAdminDeps {
  /** Removes the matching entries (Redis and every instance's memory); how many. Undefined when the cache is off. */
  purge?(filter: PurgeFilter): Promise<number>;
  /** Configured provider names, to read "provider/model". */
  providers: ReadonlySet<string>;
  /** The calls' router: where the answers to a model name called are filed (its candidates' provider and upstream model). */
  router: Pick<Router, "resolve">;
  /** The stored keys: whose team a key purged is in, for an admin key held to its team. */
  keys: Pick<KeyStore, "get">;
}

/** The part of the AdminService that createCacheAdmin implements. */
export type CacheAdmin = Pick<ServiceImpl<typeof AdminService>, "purgeCache">;

/** AdminService.PurgeCache: a key's, a team's or a model's cached answers, gone from the fleet. */
export function createCacheAdmin(deps: CacheAdminDeps): CacheAdmin {
  return {
    async purgeCache(req, ctx) {
      const v = new FieldViolations();
      if (!req.key && !req.team && !req.model) v.add("key", "set key, team or model: which cached answers to purge");
      if (req.key && req.team) v.add("team", "a key's answers and a team's are kept apart: purge one at a time");
      const filter: PurgeFilter = {};
      const keyId = req.key ? KEY_NAME.read(req.key, "key", v)?.key : undefined;
      if (keyId) filter.partition = `key:${keyId}`;
      // Compared with tags of stored text: bounded as the usage reports' filters are.
      if (req.team) filter.partition = `team:${readFilter(req.team, "team", v)}`;
      if (req.model) Object.assign(filter, modelFilter(readFilter(req.model, "model", v)!, deps.providers));
      if (filter.model !== undefined) refuseRouteAlias(req.model, filter, deps.router, v);
      v.throwIfAny();
      await requireOwnTeamsAnswers(ctx.values.get(principalKey), req, keyId, deps.keys);
      return create(PurgeCacheResponseSchema, { purgedEntries: BigInt(deps.purge ? await deps.purge(filter) : 0) });
    },
  };
}

/**
 * An admin key of a team purges its own team's answers only: its team's
 * partition (`team`), or a key of its team's own (`key`), by model or not.
 * A purge by model alone is refused, not narrowed: it reaches every team's
 * answers and those routes share with everyone, and a team's own answers
 * lie in its partition and in each of its keys', which one filter cannot
 * name (and a narrowed purge would say it purged a model when it did not).
 * The master key and admin keys without a team purge anything.
 */
async function requireOwnTeamsAnswers(principal: Principal | undefined, req: PurgeCacheRequest, keyId: string | undefined, keys: CacheAdminDeps["keys"]): Promise<void> {
  const team = teamOf(principal);
  if (team === undefined) return;
  if (keyId !== undefined) return requireOwnTeam(principal, await purgedKey(keyId, keys), "purge");
  if (req.team === team) return;
  // The other team is not named: it is another tenant's.
  const why = req.team ? "team names another" : `a purge by model alone reaches every team's; add team "${team}" or one of its keys`;
  throw gatewayError(Code.PermissionDenied, `key "${callerId(principal)}" may only purge the cached answers of its own team "${team}": ${why}`, OUTSIDE_OWN_TEAM, {
    key: callerId(principal),
    field: req.team ? "team" : "model",
  });
}

/** The key whose answers are purged: a stored key, or the master key (in no team); NotFound as for GetKey otherwise. */
async function purgedKey(id: string, keys: CacheAdminDeps["keys"]): Promise<Pick<KeyRecord, "id" | "team">> {
  if (id === "master") return { id, team: "" };
  const record = await keys.get(id);
  if (!record) throw new ConnectError(`key "${KEY_NAME.format({ key: id })}" not found`, Code.NotFound);
  return record;
}

/**
 * Answers are filed under the provider and upstream model that answered, not
 * the name called: a purge by a route alias (`team-bot` in front of
 * gpt-4o-mini) would find nothing and say so as a success, the answers still
 * cached. A name the router sends to a model of that very name (any of its
 * candidates), or no longer routes at all (its old answers may still be
 * cached), is purged as asked.
 */
function refuseRouteAlias(asked: string, filter: PurgeFilter, router: CacheAdminDeps["router"], v: FieldViolations): void {
  let candidates: Candidate[];
  try {
    candidates = router.resolve(asked);
  } catch {
    return;
  }
  // A "provider/model" name is routed to itself.
  if (candidates.some((c) => c.upstreamModel === filter.model)) return;
  // Only the route's own model's answers are kept (a fallback's are not): that is where they are.
  const filedUnder = `${candidates[0]!.provider}/${candidates[0]!.upstreamModel}`;
  v.add("model", `"${excerpt(asked)}" is a route alias, and cached answers are filed under the model that answered: purge "${filedUnder}" instead (a "provider/model" name is purged as written)`);
}

/** "gpt-4o-mini", or "openai/gpt-4o-mini" when the part before the slash is a configured provider ("ollama/llama3.1" too). */
function modelFilter(model: string, providers: ReadonlySet<string>): PurgeFilter {
  const slash = model.indexOf("/");
  if (slash > 0 && providers.has(model.slice(0, slash))) return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
  return { model };
}
