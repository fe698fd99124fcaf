import { BlockList } from "node:net";
import { clientKey } from "./client-address.js";

/**
 * Addresses no one on the internet connects from: loopback, private
 * (RFC 1918, IPv6 unique-local), shared (RFC 6598, carrier-grade NAT and
 * overlay networks) and link-local. A proxy, a load balancer, a kubelet or a
 * monitor inside the operator's network speaks from one of these.
 */
const INSIDE_RANGES = new BlockList();
INSIDE_RANGES.addSubnet("127.0.0.0", 8, "ipv4");
INSIDE_RANGES.addSubnet("10.0.0.0", 8, "ipv4");
INSIDE_RANGES.addSubnet("172.16.0.0", 12, "ipv4");
INSIDE_RANGES.addSubnet("192.168.0.0", 16, "ipv4");
INSIDE_RANGES.addSubnet("100.64.0.0", 10, "ipv4");
INSIDE_RANGES.addSubnet("169.254.0.0", 16, "ipv4");
INSIDE_RANGES.addAddress("::1", "ipv6");
INSIDE_RANGES.addSubnet("fc00::", 7, "ipv6");
INSIDE_RANGES.addSubnet("fe80::", 10, "ipv6");

/** Whether a connection's remote address is inside the network (INSIDE_RANGES); an IPv4-mapped address as its IPv4 address, anything not an address never. */
export function isInsideAddress(remoteAddress: string): boolean {
  const client = clientKey(remoteAddress);
  try {
    return client.includes(":") ? INSIDE_RANGES.check(remoteAddress.split("%", 1)[0]!, "ipv6") : INSIDE_RANGES.check(client, "ipv4");
  } catch {
    return false;
  }
}
