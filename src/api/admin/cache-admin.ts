import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { PurgeCacheResponseSchema } from "../../../gen/ts/switchboard/v1/cache_pb.js";
import type { PurgeFilter } from "../../cache/redis-tier.js";
import { FieldViolations } from "../aip/field-violations.js";
import { KEY_NAME } from "./resource-names.js";

export interface CacheAdminDeps {
  /** Removes the matching entries (Redis and every instance's memory); how many. Undefined when the cache is off. */
  purge?(filter: PurgeFilter): Promise<number>;
  /** Configured provider names, to read "provider/model". */
  providers: ReadonlySet<string>;
}

/** The part of the AdminService that createCacheAdmin implements. */
export type CacheAdmin = Pick<ServiceImpl<typeof AdminService>, "purgeCache">;

/** AdminService.PurgeCache: a key's, a team's or a model's cached answers, gone from the fleet. */
export function createCacheAdmin(deps: CacheAdminDeps): CacheAdmin {
  return {
    async purgeCache(req) {
      const v = new FieldViolations();
      if (!req.key && !req.team && !req.model) v.add("key", "set key, team or model: which cached answers to purge");
      if (req.key && req.team) v.add("team", "a key's answers and a team's are kept apart: purge one at a time");
      const filter: PurgeFilter = {};
      if (req.key) {
        const id = KEY_NAME.read(req.key, "key", v)?.key;
        if (id) filter.partition = `key:${id}`;
      }
      if (req.team) filter.partition = `team:${req.team}`;
      if (req.model) Object.assign(filter, modelFilter(req.model, deps.providers));
      v.throwIfAny();
      return create(PurgeCacheResponseSchema, { purgedEntries: BigInt(deps.purge ? await deps.purge(filter) : 0) });
    },
  };
}

/** "gpt-4o-mini", or "openai/gpt-4o-mini" when the part before the slash is a configured provider ("ollama/llama3.1" too). */
function modelFilter(model: string, providers: ReadonlySet<string>): PurgeFilter {
  const slash = model.indexOf("/");
  if (slash > 0 && providers.has(model.slice(0, slash))) return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
  return { model };
}
