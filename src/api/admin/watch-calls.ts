import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { MoneySchema } from "../../../gen/ts/google/type/money_pb.js";
import { CallEventSchema, WatchCallsResponseSchema, type CallEvent, type WatchCallsRequest } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import type { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey } from "../../auth/principal.js";
import { moneyParts } from "../../usage/pricing.js";
import { FieldViolations } from "../aip/field-violations.js";
import type { CallFeed, FinishedCall } from "../envelope/call-feed.js";
import { isMaster } from "./admin-containment.js";
import { KEY_NAME } from "./resource-names.js";
import { teamOf } from "./team-reach.js";
import { readFilter } from "./usage-requests.js";
import { watchExpiry } from "./watch-revalidation.js";

export interface WatchCallsDeps {
  feed: CallFeed;
  /** The accounting currency calls are priced in. */
  currency: string;
}

/** The part of the AdminService that createWatchCalls implements. */
export type WatchCallsAdmin = Pick<ServiceImpl<typeof AdminService>, "watchCalls">;

/** AdminService.WatchCalls: this instance's calls as they finish, filtered as asked. */
export function createWatchCalls(deps: WatchCallsDeps): WatchCallsAdmin {
  return {
    async *watchCalls(req, ctx) {
      const principal = ctx.values.get(principalKey);
      const team = teamOf(principal);
      const matches = readWatchFilter(req, team);
      const keyId = principal?.keyId ?? "unknown";
      // A key that expires mid-watch stops seeing calls then (a revocation or a lost admin right ends it too: watch-revalidation.ts).
      const record = principal?.policy?.record;
      const expiry = record && watchExpiry(keyId, record);
      const calls = deps.feed.watch(keyId, matches, ctx.signal, { team, expiry, master: isMaster(principal) });
      try {
        // The feed's first step runs at once up to its first wait: it checks the watchers' bounds and subscribes.
        const first = calls.next();
        if (req.confirmStart) {
          // A refusal (too many watchers) has settled `first` by now: it is thrown here, before the confirmation, never after it.
          await Promise.race([first, undefined]);
          yield create(WatchCallsResponseSchema, {});
        }
        for (let step = await first; !step.done; step = await calls.next()) {
          yield create(WatchCallsResponseSchema, { call: toCallEvent(step.value, deps.currency) });
        }
      } finally {
        // A stream cut short ends the watch, as for-await would (not awaited: a step still waiting for a call holds it until the abort wakes it).
        void calls.return(undefined);
      }
    },
  };
}

/** WatchCalls' filters as a test of one call; an admin key held to a team sees its team's calls only. */
function readWatchFilter(req: WatchCallsRequest, team: string | undefined): (call: FinishedCall) => boolean {
  const v = new FieldViolations();
  const keyId = req.key ? KEY_NAME.read(req.key, "key", v)?.key : undefined;
  const provider = readFilter(req.provider, "provider", v);
  const model = readFilter(req.model, "model", v);
  v.throwIfAny();
  const { errorsOnly } = req;
  return (call) =>
    (team === undefined || call.team === team) &&
    (keyId === undefined || call.keyId === keyId) &&
    (!provider || call.provider === provider) &&
    (!model || call.model === model || call.requestedModel === model) &&
    (!errorsOnly || call.status !== "ok");
}

/** A finished call as the API shows it. */
export function toCallEvent(call: FinishedCall, currency: string): CallEvent {
  return create(CallEventSchema, {
    requestId: call.requestId,
    finishTime: timestampFromMs(call.finishMs),
    key: call.keyId === undefined ? "" : KEY_NAME.format({ key: call.keyId }),
    team: call.team ?? "",
    surface: call.surface,
    method: call.method,
    requestedModel: call.requestedModel ?? "",
    provider: call.provider ?? "",
    model: call.model ?? "",
    status: call.status,
    errorReason: call.errorReason ?? "",
    latency: durationFromMs(Math.round(call.latencyMs)),
    timeToFirstToken: call.firstTokenMs === undefined ? undefined : durationFromMs(Math.round(call.firstTokenMs)),
    promptTokens: BigInt(call.promptTokens ?? 0),
    completionTokens: BigInt(call.completionTokens ?? 0),
    cost: call.costNanos === undefined ? undefined : create(MoneySchema, { currencyCode: currency, ...moneyParts(call.costNanos) }),
    cached: call.cached,
    downgraded: call.downgraded,
    attempts: call.attempts ?? 0,
  });
}
