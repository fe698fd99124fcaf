import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { principalKey, type Principal } from "../../auth/principal.js";
import { gatewayError } from "../../common/gateway-error.js";
import { KeyedRate } from "../../common/keyed-rate.js";
import type { UsageConfig } from "../../config/usage-config.js";
import { isReadMethod } from "../envelope/auth-interceptor.js";
import { isMaster } from "./admin-containment.js";

type Admin = ServiceImpl<typeof AdminService>;

/**
 * The AdminService writes each admin key may make on this instance, when
 * the key has no requests_per_minute of its own (the default): without it, a
 * team's admin key made 3,000 of the largest keys in 14 s. GCRA, as the
 * keys' own limits: `burst` writes at once, then `perSecond` earned back
 * evenly. Per instance: behind N instances, up to N times as many.
 */
export class AdminWriteRate {
  private readonly writes: KeyedRate;

  constructor(
    readonly rate: UsageConfig["adminWrites"],
    now: () => number = Date.now,
  ) {
    this.writes = new KeyedRate(rate.perSecond, rate.burst, now);
  }

  /** Takes one of `keyId`'s writes: undefined when taken, else the milliseconds until one is free. */
  take(keyId: string): number | undefined {
    return this.writes.take(keyId);
  }

  /** Whether the writes of `principal` are held to this rate: an admin key's with no rate of its own, never the master key's. */
  holds(principal: Principal | undefined): principal is Principal {
    return principal !== undefined && !isMaster(principal) && (principal.policy?.record.requestsPerMinute ?? 0) <= 0;
  }
}

/**
 * `impl` with each method that may change something (all but Get, List and
 * Watch) first taking one of its caller's writes from `rate`; past it,
 * ResourceExhausted with RATE_LIMITED (metadata `limit: admin_writes`) and
 * RetryInfo, before the handler does anything.
 */
export function withAdminWriteRate(impl: Admin, rate: AdminWriteRate): Admin {
  const limited: Record<string, unknown> = { ...impl };
  for (const method of AdminService.methods) {
    if (isReadMethod(method.name)) continue;
    const handle = impl[method.localName as keyof Admin] as unknown as (req: unknown, ctx: HandlerContext) => unknown;
    limited[method.localName] = (req: unknown, ctx: HandlerContext) => {
      const principal = ctx.values.get(principalKey);
      const waitMs = rate.holds(principal) ? rate.take(principal.keyId) : undefined;
      if (waitMs !== undefined) {
        const { perSecond, burst } = rate.rate;
        throw gatewayError(
          Code.ResourceExhausted,
          `key "${principal?.keyId}" is over the ${perSecond} AdminService writes a second (${burst} at once) of an admin key without a requests_per_minute of its own; retry in ${Math.ceil(waitMs / 1000)} s`,
          "RATE_LIMITED",
          { key: principal?.keyId ?? "unknown", limit: "admin_writes", value: `${perSecond}/s, burst ${burst}` },
          waitMs,
        );
      }
      return handle(req, ctx);
    };
  }
  return limited as Admin;
}
