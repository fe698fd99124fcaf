import type { Logger } from "../observability/logger.js";
import type { Period } from "./budgets.js";
import { openJournal, SegmentJournal, type JournalKind } from "./segment-journal.js";

/**
 * A settlement the shared (Redis) spend counter has not taken yet, as written
 * down: sent again after a restart by the same call id, which SETTLE applies
 * once (its per-call marker), so one that did reach Redis before the crash is
 * not counted twice.
 */
export interface KeptSettlement {
  keyId: string;
  period: Period;
  callId: string;
  /** The call's ledger row (when it was admitted, and its key), when the settlement had them. */
  atMs?: number;
  rowKey?: string;
  /** Nano-units. */
  cost: number;
  /** What the call had reserved in Redis (0 for a call admitted in its process while Redis failed). */
  reserved: number;
  /** When it was first kept (the counter's clock): one kept longer than its marker lives is dropped, not sent. */
  since: number;
}

/** A kept settlement an earlier run left, and the segment of this journal that holds it now. */
export interface RecoveredSettlement {
  settlement: KeptSettlement;
  segment: number;
}

const KEPT_SETTLEMENTS: JournalKind<KeptSettlement> = {
  name: "kept spend journal",
  entries: "settlements",
  unfinished: "settlements Redis has not taken yet (a key's fleet-wide spend would miss them)",
  finished: "settlements Redis took",
  isEntry: isKeptSettlement,
};

/**
 * The settlements the Redis spend counter keeps while Redis fails, on disk as
 * the ledger's rows are (a `SegmentJournal`: one `write` into the page cache,
 * which survives `kill -9`): a restart before Redis is back sends them then,
 * instead of losing that spend from the fleet-wide counter. A settlement is
 * done once Redis took it (or it was dropped). Its own directory under
 * `ledger.journal_dir`: the ledger's journal never reads these files.
 */
export class KeptSettlementJournal extends SegmentJournal<KeptSettlement> {
  private constructor(
    dir: string,
    private readonly logger: Logger,
  ) {
    super(dir, { logger }, KEPT_SETTLEMENTS);
  }

  static open(dir: string, logger: Logger): KeptSettlementJournal {
    return openJournal(dir, KEPT_SETTLEMENTS.name, () => new KeptSettlementJournal(dir, logger));
  }

  /** Takes over the files of runs that are gone (see `claimOrphanFiles`) and reads their settlements. */
  recover(): RecoveredSettlement[] {
    let claimed;
    try {
      claimed = this.claimOrphans();
    } catch (err) {
      this.logger.error({ journal: this.dir, error: (err as Error).message }, "could not read the kept spend journal left by an earlier run");
      return [];
    }
    const recovered = claimed.flatMap(({ segment, rows }) => rows.map((settlement) => ({ settlement, segment })));
    if (recovered.length > 0) {
      this.logger.info({ journal: this.dir, settlements: recovered.length }, "sending budget settlements an earlier run kept for Redis (once each, by call id)");
    }
    return recovered;
  }
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

// A settlement that SETTLE would refuse would be sent again forever: only whole ones are replayed.
function isKeptSettlement(value: unknown): value is KeptSettlement {
  if (typeof value !== "object" || value === null) return false;
  const kept = value as Record<string, unknown>;
  const period = kept.period as Record<string, unknown> | null | undefined;
  return (
    typeof kept.keyId === "string" &&
    typeof kept.callId === "string" &&
    kept.callId !== "" &&
    typeof period === "object" &&
    period !== null &&
    isCount(period.startMs) &&
    isCount(period.endMs) &&
    (kept.atMs === undefined || Number.isFinite(kept.atMs)) &&
    (kept.rowKey === undefined || typeof kept.rowKey === "string") &&
    isCount(kept.cost) &&
    isCount(kept.reserved) &&
    Number.isFinite(kept.since)
  );
}
