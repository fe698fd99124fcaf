import { clientKey } from "../common/client-address.js";
import { isInsideAddress } from "../common/inside-address.js";

/**
 * The waiting lookups that digests not known good here may hold: anyone can send those, so the rest is
 * kept for keys this instance has found good (a re-read past the cache time, after a change or a poll
 * that named none), which a flood of random keys must not turn away.
 */
const unknownShare = (maxWaiting: number) => Math.ceil((maxWaiting * 3) / 4);

/**
 * The waiting lookups of digests not known good here that one client (server/client-key.ts: an IPv4
 * address, an IPv6 /64) may hold: a flood from one address, or a few, leaves room for the first
 * lookups of other clients' keys (a fresh instance, a newly created key), which are not known good either.
 */
export const MAX_WAITING_UNKNOWN_LOOKUPS_PER_CLIENT = 8;

/**
 * Whether a client (clientKey's form) may be a proxy many callers share: a
 * reverse proxy or load balancer in front of the gateway speaks from inside
 * the network, and every caller behind one has its address, so a per-client
 * share there would be one share for all of them. An unknown address (an
 * in-process call) may be one too. Lookups from these count only against the
 * shares above.
 */
function mayBeSharedByMany(client: string, remoteAddress: string | undefined): boolean {
  return client === "" || remoteAddress === undefined || isInsideAddress(remoteAddress);
}

/** A place taken for one lookup, given back once the store answers it (or fails). */
export type LookupPlace = { release: () => void };

/**
 * The room for key lookups waiting on the store: at most `maxWaiting`, of
 * which digests not known good here hold at most three quarters, and each
 * client with a public address at most `MAX_WAITING_UNKNOWN_LOOKUPS_PER_CLIENT`
 * of those (one on a private or loopback address may be a proxy every caller
 * comes through: common/inside-address.ts). A client is told by its remote address,
 * grouped only here: a key found in the cache never reads it. A lookup whose
 * address is not known (an in-process call) counts as a proxy's would.
 */
export class StoreLookupRoom {
  private waiting = 0;
  private waitingUnknown = 0;
  /** Only clients with a lookup waiting: an entry goes when its count is back to 0, so it holds at most maxWaiting. */
  private readonly waitingUnknownByClient = new Map<string, number>();
  private readonly maxWaitingUnknown: number;

  constructor(private readonly maxWaiting: number) {
    this.maxWaitingUnknown = unknownShare(maxWaiting);
  }

  /** A place for a lookup, or why there is none (a refusal's words: the store itself may be fine). */
  take(knownGood: boolean, remoteAddress: string | undefined): LookupPlace | string {
    if (this.waiting >= this.maxWaiting || (!knownGood && this.waitingUnknown >= this.maxWaitingUnknown)) {
      return `${this.waiting} key lookups are already waiting on the store`;
    }
    if (knownGood) {
      this.waiting++;
      return { release: () => this.waiting-- };
    }
    const client = clientKey(remoteAddress);
    if (mayBeSharedByMany(client, remoteAddress)) {
      this.waiting++;
      this.waitingUnknown++;
      return { release: () => (this.waiting--, this.waitingUnknown--) };
    }
    const ofClient = this.waitingUnknownByClient.get(client) ?? 0;
    if (ofClient >= MAX_WAITING_UNKNOWN_LOOKUPS_PER_CLIENT) return `${ofClient} key lookups from this client are already waiting on the store`;
    this.waiting++;
    this.waitingUnknown++;
    this.waitingUnknownByClient.set(client, ofClient + 1);
    return {
      release: () => {
        this.waiting--;
        this.waitingUnknown--;
        const left = (this.waitingUnknownByClient.get(client) ?? 1) - 1;
        if (left > 0) this.waitingUnknownByClient.set(client, left);
        else this.waitingUnknownByClient.delete(client);
      },
    };
  }
}
