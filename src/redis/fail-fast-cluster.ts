import { Cluster, Command } from "ioredis";

/** How often slots known to be down are tried again (one command at a time, routed as any other). */
const SHARD_PROBE_EVERY_MS = 1_000;
const SLOT_COUNT = 16_384;

/** Slots no node serves, as health shows them ("5461-10922"), or undefined when every slot is served. */
export type UnservedSlotsListener = (slots: string | undefined) => void;

interface ShardOutage {
  /** The shard's slots, as the client's slot table had them when a command for it gave up. */
  ranges: [number, number][];
  /** A key in those slots, read to find out whether they are served again. */
  probeKey: string | Buffer;
  probing: boolean;
}

/**
 * A Redis Cluster client that remembers a shard that is down. ioredis waits
 * out a failover for every command on its own (MOVED to the lost master, the
 * connection closed, retried every 100 ms until `maxRedirections`), and
 * remembers nothing: when a shard's master and replicas are all gone, each
 * command for its slots waits it out again, seconds on every call. Once one
 * command has waited it out, the shard's slots are known to be down: their
 * commands fail at once (the caller's failure policy decides), the listener
 * hears which slots, and a probe every second finds when they are served again.
 */
export class FailFastCluster extends Cluster {
  private readonly outages = new Set<ShardOutage>();
  private readonly unservedListeners: UnservedSlotsListener[] = [];
  private probeTimer: NodeJS.Timeout | undefined;

  /** Told each time the set of slots no node serves changes. */
  watchUnserved(listener: UnservedSlotsListener): void {
    this.unservedListeners.push(listener);
  }

  override sendCommand(...[command, stream, node]: Parameters<Cluster["sendCommand"]>): unknown {
    // A pipeline's commands name their node; a command without keys goes to any node.
    const slot = node ? null : command.getSlot();
    if (slot === null || slot === undefined) return super.sendCommand(command, stream, node);
    const outage = this.outageOf(slot);
    if (outage) {
      command.reject(new Error(`Redis Cluster slot ${slot} is not served: no node has answered for slots ${describe(outage.ranges)} past the failover wait`));
      return command.promise;
    }
    const sent = super.sendCommand(command, stream, node);
    command.promise.catch((err: Error) => {
      if (waitedOut(err)) this.recordOutage(slot, command.getKeys()[0]!);
      // Given up on (its timeout): ioredis would go on retrying it on each later error, and run it once the slot is
      // served again, seconds after its caller moved on. A retry already queued may still run it once.
      command.reject = () => {};
    });
    return sent;
  }

  private outageOf(slot: number): ShardOutage | undefined {
    for (const outage of this.outages) if (outage.ranges.some(([first, last]) => slot >= first && slot <= last)) return outage;
    return undefined;
  }

  /** Every slot of the failed slot's master (or, if it has none, every slot without one) is down with it. */
  private recordOutage(slot: number, probeKey: string | Buffer): void {
    if (this.outageOf(slot)) return;
    const owner = this.slots[slot]?.[0];
    const ranges: [number, number][] = [];
    for (let i = 0; i < SLOT_COUNT; i++) {
      if (this.slots[i]?.[0] !== owner) continue;
      const last = ranges.at(-1);
      if (last && last[1] === i - 1) last[1] = i;
      else ranges.push([i, i]);
    }
    this.outages.add({ ranges, probeKey, probing: false });
    this.probeTimer ??= setInterval(() => this.probeAll(), SHARD_PROBE_EVERY_MS).unref();
    this.tell();
  }

  private probeAll(): void {
    if (this.status === "end" || this.outages.size === 0) {
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      return;
    }
    for (const outage of this.outages) if (!outage.probing) this.probe(outage);
  }

  /** Past the guard: the probe is routed, and waits out a failover, as any command was before its shard was known down. */
  private probe(outage: ShardOutage): void {
    outage.probing = true;
    const command = new Command("exists", [outage.probeKey]);
    super.sendCommand(command);
    command.promise.then(
      () => {
        this.outages.delete(outage);
        this.tell();
      },
      () => (outage.probing = false),
    );
  }

  private tell(): void {
    const ranges = [...this.outages].flatMap((outage) => outage.ranges).sort(([a], [b]) => a - b);
    const slots = ranges.length > 0 ? describe(ranges) : undefined;
    for (const listener of this.unservedListeners) listener(slots);
  }
}

/** A command that gave up routing to its slot (redirections exhausted, or its timeout past the failover wait). */
function waitedOut(err: Error): boolean {
  return err.message.startsWith("Too many Cluster redirections") || err.message === "Command timed out";
}

function describe(ranges: [number, number][]): string {
  return ranges.map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)).join(",");
}
