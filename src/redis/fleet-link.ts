import type { Counter } from "prom-client";
import type { Logger } from "../observability/logger.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import type { FleetDropReason, FleetSeal } from "./fleet-seal.js";
import type { RedisLink } from "./redis-link.js";

/** What each drop says in the log: why a message can fail to open, and what to look at. */
const DROPPED: Record<FleetDropReason, string> = {
  unsigned: "ignored a message on a fleet channel that is not sealed: from an instance older than sealed fleet messages (during an upgrade), or from someone else who can publish to the Redis",
  forged: "ignored a message on a fleet channel whose seal does not match: an instance with another SWITCHBOARD_PEPPER, or a message made or altered by someone who can publish to the Redis",
  stale: "ignored a message on a fleet channel sealed more than a minute from this instance's clock: a replayed message, or clocks that disagree",
  replayed: "ignored a message on a fleet channel that was already received: a replayed message",
};

/**
 * Redis pub/sub between the instances of a fleet, every message sealed
 * (fleet-seal.ts): each publisher and subscriber of a fleet channel goes
 * through here, never through the link's own publish and subscribe. A message
 * that does not open is dropped, counted by channel and reason, and logged
 * (throttled, without its content: it is whatever someone published).
 */
export class FleetLink {
  private readonly warnings = new Map<string, ThrottledWarning>();

  constructor(
    private readonly link: RedisLink,
    private readonly seal: FleetSeal,
    private readonly dropped: Counter<"channel" | "reason">,
    private readonly logger: Logger,
  ) {}

  async publish(channel: string, body: string): Promise<void> {
    await this.link.publish(channel, this.seal.seal(this.link.key(channel), body));
  }

  /** As RedisLink.subscribe; `onMessage` gets only bodies sealed by this fleet, once each. */
  async subscribe(channel: string, onMessage: (body: string) => void, onResubscribe: () => void, lost?: string): Promise<void> {
    const name = this.link.key(channel);
    await this.link.subscribe(
      channel,
      (message) => {
        const opened = this.seal.open(name, message);
        if ("body" in opened) return onMessage(opened.body);
        this.dropped.inc({ channel, reason: opened.dropped });
        this.warning(channel, opened.dropped).note(() => ({ channel, reason: opened.dropped }));
      },
      onResubscribe,
      lost,
    );
  }

  private warning(channel: string, reason: FleetDropReason): ThrottledWarning {
    const key = `${channel}\0${reason}`;
    let warning = this.warnings.get(key);
    if (!warning) {
      warning = new ThrottledWarning(this.logger, DROPPED[reason]);
      this.warnings.set(key, warning);
    }
    return warning;
  }
}
