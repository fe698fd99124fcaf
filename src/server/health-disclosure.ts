import { isInsideAddress } from "../common/inside-address.js";
import type { MetricsAccess } from "./metrics-access.js";

/**
 * Headers a proxy adds to a request it passes on (the shipped
 * deploy/nginx.conf sets X-Forwarded-For): such a request comes from the
 * proxy's address, inside the network, but speaks for someone else.
 */
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip", "via"] as const;

/** What the rule reads of a health request. */
export interface HealthCaller {
  /** The connection's remote address; undefined when it is not known. */
  remoteAddress: string | undefined;
  /** A request header's value (the first, if repeated). */
  header(name: string): string | undefined;
}

/**
 * Whether a health answer may name the providers and dependencies and why
 * they are degraded (reconnaissance, for anyone on the internet): only to a
 * caller inside the network (a kubelet, a load balancer's check, a monitor:
 * common/inside-address.ts) that no proxy passed on, or to one that presents
 * the /metrics token, which already reads every provider's state. The gateway
 * trusts no forwarded header to say who asked (any caller could send one), so
 * a forwarded request counts as public: sending the header only shortens the
 * answer, and callers through the proxy never read the detail.
 */
export function mayReadHealthDetail(caller: HealthCaller, metricsAccess?: MetricsAccess): boolean {
  if (metricsAccess !== undefined && !metricsAccess.open && metricsAccess.allows(caller.header("authorization"))) return true;
  if (caller.remoteAddress === undefined || !isInsideAddress(caller.remoteAddress)) return false;
  return FORWARDING_HEADERS.every((name) => caller.header(name) === undefined);
}
