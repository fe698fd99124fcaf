import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Why a message on a fleet channel was not accepted (a metric label: keep the set small). */
export type FleetDropReason = "unsigned" | "forged" | "stale" | "replayed";

/**
 * The label the fleet's key is derived from the pepper with. Like the cache's
 * (cache-secret.ts), it starts with a NUL, which no gateway key can hold, so
 * no key's digest is ever the fleet's key.
 */
const PEPPER_LABEL = "\0switchboard fleet messages v1";
/** Marks a sealed message. Not JSON, so an instance older than sealing ignores it as "not JSON" (see docs/deploy.md). */
const MARK = "sbf1";
/**
 * How far a message's time may be from the receiver's clock, either way. Pub/sub delivers at
 * once; the margin is for clocks that disagree (instances' clocks must agree within it).
 */
const WINDOW_MS = 60_000;
/** Messages remembered against replays. Past it the oldest are forgotten: only a fleet publishing faster than ~160 a second for a minute gets there. */
const MAX_REMEMBERED = 10_000;

export interface FleetSealOptions {
  now?: () => number;
}

/** An HMAC under the gateway-key pepper: the auth layer's KeyHasher (named here, not imported: redis sits below auth). */
export interface PepperHmac {
  digest(text: string): Buffer;
}

/**
 * Seals and opens the messages instances send each other over Redis pub/sub
 * (key-pool actions, key changes, database secret notices, cache purges):
 * whoever can PUBLISH to the Redis must not be able to act as an instance.
 *
 * A sealed message is `sbf1.<time>.<nonce>.<mac>.<body>`, the MAC an
 * HMAC-SHA256 over the channel (prefix included), the time, the nonce and the
 * body, under a key derived from the gateway-key pepper: every instance of a
 * fleet holds it (a shared store needs it, docs/deploy.md) and Redis never
 * does. The body travels in the clear (it never holds a secret: references,
 * key ids, names). A message is accepted once, within WINDOW_MS of its time.
 */
export class FleetSeal {
  private readonly now: () => number;
  /** Nonces of accepted messages, with when each can be forgotten (its time is out of the window by then), oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    options: FleetSealOptions = {},
  ) {
    if (key.length < 16) throw new Error("the fleet key must be at least 16 bytes");
    this.now = options.now ?? Date.now;
  }

  static fromPepper(hasher: PepperHmac, options?: FleetSealOptions): FleetSeal {
    return new FleetSeal(hasher.digest(PEPPER_LABEL), options);
  }

  seal(channel: string, body: string): string {
    const time = String(this.now());
    const nonce = randomBytes(16).toString("base64url");
    return `${MARK}.${time}.${nonce}.${this.mac(channel, time, nonce, body)}.${body}`;
  }

  /** The body of a message sealed for this channel by an instance of this fleet, not seen before; else why not. */
  open(channel: string, message: string): { body: string } | { dropped: FleetDropReason } {
    const parts = splitSealed(message);
    if (!parts) return { dropped: "unsigned" };
    const { time, nonce, mac, body } = parts;
    const expected = Buffer.from(this.mac(channel, time, nonce, body), "base64url");
    const given = Buffer.from(mac, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { dropped: "forged" };
    const now = this.now();
    const sentAt = Number(time);
    if (Math.abs(now - sentAt) > WINDOW_MS) return { dropped: "stale" };
    this.forgetExpired(now);
    if (this.seen.has(nonce)) return { dropped: "replayed" };
    this.seen.set(nonce, sentAt + WINDOW_MS);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    return { body };
  }

  private mac(channel: string, time: string, nonce: string, body: string): string {
    return createHmac("sha256", this.key).update(`${channel}\0${time}\0${nonce}\0`, "utf8").update(body, "utf8").digest("base64url");
  }

  private forgetExpired(now: number): void {
    for (const [nonce, forgetAt] of this.seen) {
      if (forgetAt >= now) return;
      this.seen.delete(nonce);
    }
  }
}

/** The parts of `sbf1.<time>.<nonce>.<mac>.<body>`; undefined for anything else. */
function splitSealed(message: string): { time: string; nonce: string; mac: string; body: string } | undefined {
  const fields: string[] = [];
  let from = 0;
  for (let i = 0; i < 4; i++) {
    const dot = message.indexOf(".", from);
    if (dot < 0) return undefined;
    fields.push(message.slice(from, dot));
    from = dot + 1;
  }
  const [mark, time, nonce, mac] = fields as [string, string, string, string];
  if (mark !== MARK || !/^\d{1,15}$/.test(time) || !/^[A-Za-z0-9_-]{22}$/.test(nonce) || !/^[A-Za-z0-9_-]{43}$/.test(mac)) return undefined;
  return { time, nonce, mac, body: message.slice(from) };
}
