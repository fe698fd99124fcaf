import { isIPv6 } from "node:net";

/**
 * Who a connection's client is, for the per-client caps and shares, from its
 * remote address (behind a proxy, the proxy's; the gateway trusts no
 * forwarded header for this, which any client could set). An IPv4 client is
 * its address. An IPv6 client is its /64: a host is handed at least that
 * much (SLAAC needs a whole /64) and may pick any source address in it, so
 * keyed by address it would get a fresh share with each connection. An
 * IPv4-mapped address (`::ffff:a.b.c.d`, an IPv4 client of a dual-stack
 * socket) is that IPv4 client.
 */
export function clientKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "";
  // Every IPv6 address has a colon, no IPv4 one does: the IPv4 client, the common one, skips isIPv6's costly regex (every request asks).
  if (!remoteAddress.includes(":")) return remoteAddress;
  const hextets = ipv6Hextets(remoteAddress);
  if (!hextets) return remoteAddress;
  const [a, b, c, d, e, f, g = 0, h = 0] = hextets;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) return `${g >> 8}.${g & 0xff}.${h >> 8}.${h & 0xff}`;
  return `${hextets.slice(0, 4).map((hextet) => hextet.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (any zone dropped), or undefined when it is not one. */
function ipv6Hextets(address: string): number[] | undefined {
  const unzoned = address.split("%", 1)[0]!;
  if (!isIPv6(unzoned)) return undefined;
  const groups = (part: string): number[] => {
    if (part === "") return [];
    return part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [parseInt(group, 16)];
      // A trailing dotted IPv4 address is the last two groups.
      const [w = 0, x = 0, y = 0, z = 0] = group.split(".").map(Number);
      return [(w << 8) | x, (y << 8) | z];
    });
  };
  const [head = "", tail] = unzoned.split("::");
  if (tail === undefined) return groups(head);
  const start = groups(head);
  const end = groups(tail);
  return [...start, ...new Array<number>(8 - start.length - end.length).fill(0), ...end];
}
