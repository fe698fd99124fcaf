import type { RedisLink } from "../redis/redis-link.js";

/**
 * The shared spend counter's layout in Redis and its scripts. Per key and
 * period, every key under the `{keyId}` hash tag (one cluster slot):
 *
 *   spend:{k}:<start>             settled spend, nano-units (a string integer; missing: rebuild from the ledger)
 *   spend:{k}:<start>:res         reservations of calls in flight: call id → nano-units (grown by further attempts), and `~total` (their sum)
 *   spend:{k}:<start>:lease       the same ids → when their lease ends (ms since the epoch)
 *   spend:{k}:<start>:done:<id>   one call's marker: "settled", "ledger" or "released", kept MARKER_TTL_MS
 *   spend:{k}:<start>:rebuilt     the counter's rebuild point `at` (ms) and `base`: what the ledger had of calls admitted before it
 *
 * The rebuild point splits a key's calls in two, by when they were admitted
 * (the ledger row's `at_ms`, which the rebuild's read of the ledger filters
 * on too): those before it are counted from the ledger, those from it on by
 * their settlements. So a call counts once whichever instance rebuilt the
 * counter, and whether or not the ledger had its row then: a settlement of a
 * call admitted before the point (kept through an outage, or in flight when
 * Redis lost its data) adds nothing to the spend; its entry holds its cost
 * until the ledger is read again (REBASE) once the store has its row, for as
 * long as the counter is kept if need be: a store outage may last hours (the
 * ledger's journal keeps its rows meanwhile), and a cost that lapsed before
 * its row was stored would go uncounted until then. (A
 * call settled into the lost data before the loss, on an instance whose
 * clock is ahead of the rebuilder's by more than the time since, would be in
 * neither half.)
 *
 * A reservation is an entry of its own, never an increment of the spend:
 * settling or releasing it is idempotent (a re-sent or late-executed command
 * changes nothing the second time), and a reservation nothing settles (its
 * instance died, or gave up on an admission Redis ran late) lapses with its
 * lease. Time is the gateway's clock, passed as `now`, not Redis's TIME: the
 * lease is minutes long, so seconds of clock skew between instances do not
 * matter, and tests can move time on without waiting.
 */
export interface SpendKeys {
  spent: string;
  reservations: string;
  leases: string;
  marker: string;
  rebuilt: string;
}

export function spendKeys(link: RedisLink, keyId: string, periodStartMs: number, callId: string): SpendKeys {
  const spent = link.key("spend", `{${keyId}}`, String(periodStartMs));
  return { spent, reservations: `${spent}:res`, leases: `${spent}:lease`, marker: `${spent}:done:${callId}`, rebuilt: `${spent}:rebuilt` };
}

/**
 * How long a reservation counts when nothing settles it. Longer than any call
 * should run (a provider attempt times out after 2 minutes by default; a
 * call may fail over or hedge across a few; a stream whose reader stalls is
 * cut after a minute), short enough that a dead instance's reservations stop
 * refusing its keys' calls within a quarter of an hour. A call that runs
 * longer only stops counting as reserved until it settles; its cost still
 * lands when it does.
 */
export const LEASE_MS = 15 * 60_000;

/**
 * How long a call's settled/released marker is kept: as long as a settlement
 * may be re-sent (pending settlements older than this, less an hour, are
 * dropped rather than risk applying twice) or a command may run late. One
 * small key per call for a day.
 */
export const MARKER_TTL_MS = 24 * 3_600_000;

/** Spend counters are kept a week past their period's end, then Redis forgets them. */
export const KEEP_AFTER_PERIOD_MS = 7 * 24 * 3_600_000;

// Drops reservations whose lease ended at `now` from the hash, the sorted set and the total.
const PURGE = `
local function purge(res, leases, now)
  while true do
    local gone = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 500)
    if #gone == 0 then return end
    local amounts = redis.call('HMGET', res, unpack(gone))
    local sum = 0
    for _, amount in ipairs(amounts) do
      if amount then sum = sum + tonumber(amount) end
    end
    redis.call('HDEL', res, unpack(gone))
    redis.call('ZREM', leases, unpack(gone))
    if sum > 0 then redis.call('HINCRBY', res, '~total', -sum) end
  end
end
`;

// Checks the budget, chooses the economy model and reserves, atomically: the same rule as `decide` in budgets.ts.
// KEYS: spent, reservations, leases, marker.
// ARGV: now, limit, soft limit, reserve normal, reserve economy (-1: none), economy-only (0/1), call id, lease ms, keep ms.
// Returns {-1, 0, 0} when the spend counter does not exist (to be seeded from the ledger),
// else {decision (0 normal, 1 economy, 2 refused), spent before (settled + live reservations), reserved}.
// A call id already released or settled (the gateway gave up on this admission; this is it running late)
// reserves nothing.
export const ADMIT = `${PURGE}
local v = redis.call('GET', KEYS[1])
if not v then return {-1, 0, 0} end
local now = tonumber(ARGV[1])
purge(KEYS[2], KEYS[3], now)
local spent = tonumber(v) + tonumber(redis.call('HGET', KEYS[2], '~total') or '0')
local limit, soft = tonumber(ARGV[2]), tonumber(ARGV[3])
local normal, economy, economy_only = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local decision, reserve = 0, normal
if spent >= limit then
  if economy_only and economy >= 0 then decision, reserve = 1, economy else return {2, spent, 0} end
elseif economy >= 0 and spent >= soft then
  decision, reserve = 1, economy
end
local id = ARGV[7]
if reserve <= 0 or redis.call('EXISTS', KEYS[4]) == 1 or redis.call('HEXISTS', KEYS[2], id) == 1 then
  return {decision, spent, 0}
end
redis.call('HSET', KEYS[2], id, reserve)
redis.call('HINCRBY', KEYS[2], '~total', reserve)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[8]), id)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
redis.call('PEXPIRE', KEYS[3], ARGV[9])
return {decision, spent, reserve}
`;

// Grows a call's reservation for another attempt (a retry after a cut one, a hedge) when the budget would admit the
// call now were it not admitted yet, judged on the spend without its own reservation: the same rule as `mayGrow` in
// budgets.ts. The lease is renewed: the call is alive. A reservation that lapsed meanwhile is made again, of the
// growth alone; a call id already settled or released grows nothing (its settlement came first: nothing would drop
// what this added).
// KEYS: spent, reservations, leases, marker.
// ARGV: now, limit, growth, past limit (1: an economy call in economy-only mode), call id, lease ms, keep ms.
// Returns {-1, 0} when the spend counter does not exist (to be seeded from the ledger),
// else {granted (1 or 0), spent before (settled + live reservations)}.
export const GROW = `${PURGE}
local v = redis.call('GET', KEYS[1])
if not v then return {-1, 0} end
local now = tonumber(ARGV[1])
purge(KEYS[2], KEYS[3], now)
local spent = tonumber(v) + tonumber(redis.call('HGET', KEYS[2], '~total') or '0')
local id = ARGV[5]
local own = tonumber(redis.call('HGET', KEYS[2], id) or '0')
if (spent - own >= tonumber(ARGV[2]) and ARGV[4] ~= '1') or redis.call('EXISTS', KEYS[4]) == 1 then return {0, spent} end
redis.call('HINCRBY', KEYS[2], id, ARGV[3])
redis.call('HINCRBY', KEYS[2], '~total', ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), id)
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return {1, spent}
`;

// Removes a reservation, if it is there, from the hash, the sorted set and the total.
const DROP = `
local function drop(res, leases, id)
  local amount = redis.call('HGET', res, id)
  if not amount then return end
  redis.call('HDEL', res, id)
  redis.call('ZREM', leases, id)
  redis.call('HINCRBY', res, '~total', -tonumber(amount))
end
`;

// A call's real cost, once: drops its reservation (if it is there: it may have lapsed, or never been made)
// and adds the cost to the spend, unless this id was settled already, or the call was admitted before the
// counter's rebuild point: the ledger counts it then, and its entry holds its cost until REBASE reads the
// ledger again once its row is stored (the marker says "ledger", so that the settlement, sent again, answers
// the same). That entry's lease is the counter's keep time, not LEASE_MS: however long the store is down,
// the cost counts until the ledger does. A missing spend counter is left alone: the caller rebuilds it and
// sends the settlement again, to be judged by its point.
// KEYS: spent, reservations, leases, marker, rebuilt.
// ARGV: call id, cost, marker ttl ms, admitted at (ms; -1: not known), now, keep ms.
// Returns 1 when applied, 0 when this id was settled already, 2 when the ledger counts it, -1 when the counter is missing.
export const SETTLE = `${DROP}
local done = redis.call('GET', KEYS[4])
if done == 'settled' then return 0 end
if done == 'ledger' then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
drop(KEYS[2], KEYS[3], ARGV[1])
local cost, at = tonumber(ARGV[2]), tonumber(ARGV[4])
if at >= 0 and at < tonumber(redis.call('HGET', KEYS[5], 'at') or '-1') then
  redis.call('SET', KEYS[4], 'ledger', 'PX', ARGV[3])
  if cost > 0 then
    redis.call('HSET', KEYS[2], ARGV[1], cost)
    redis.call('HINCRBY', KEYS[2], '~total', cost)
    redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + tonumber(ARGV[6]), ARGV[1])
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
    redis.call('PEXPIRE', KEYS[3], ARGV[6])
  end
  return 2
end
redis.call('SET', KEYS[4], 'settled', 'PX', ARGV[3])
if cost > 0 then redis.call('INCRBY', KEYS[1], cost) end
return 1
`;

// Creates a missing counter from the ledger's spend of calls admitted before the rebuild point, and records both.
// KEYS: spent, rebuilt. ARGV: spend, rebuild point (ms), keep ms. Returns 1 when created, 0 when another got there first.
export const REBUILD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[2], 'at', ARGV[2], 'base', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

// The ledger read again for the calls admitted before the rebuild point, once the rows of some of them (ARGV[3…],
// their call ids) are stored: the counter grows by what the ledger has more than it had, and those calls' entries,
// which held their cost meanwhile, are dropped. Never shrinks the counter: reads that finish out of order leave
// the largest, and the ledger's rows only grow.
// KEYS: spent, rebuilt, reservations, leases. ARGV: the rebuild point it was read for (as HGET gave it), spend before it, call ids.
// Returns 1 when done, 0 when the counter was rebuilt for another point meanwhile (read again), -1 when it is missing.
export const REBASE = `${DROP}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[2], 'at') ~= ARGV[1] then return 0 end
local base, read = tonumber(redis.call('HGET', KEYS[2], 'base')), tonumber(ARGV[2])
if read > base then
  redis.call('INCRBY', KEYS[1], read - base)
  redis.call('HSET', KEYS[2], 'base', ARGV[2])
end
for i = 3, #ARGV do drop(KEYS[3], KEYS[4], ARGV[i]) end
return 1
`;

// An admission the gateway gave up on (it timed out or failed): drops its reservation if Redis made it,
// and leaves a tombstone so that the admission, should it run late, reserves nothing.
// KEYS: spent, reservations, leases, marker. ARGV: call id, marker ttl ms. Returns 0.
export const RELEASE = `${DROP}
redis.call('SET', KEYS[4], 'released', 'NX', 'PX', ARGV[2])
drop(KEYS[2], KEYS[3], ARGV[1])
return 0
`;

// What a key spent: {settled (-1: no counter), live reservations}. KEYS: spent, reservations, leases. ARGV: now.
export const SPENT = `${PURGE}
local v = redis.call('GET', KEYS[1])
if not v then return {-1, 0} end
purge(KEYS[2], KEYS[3], tonumber(ARGV[1]))
return {tonumber(v), tonumber(redis.call('HGET', KEYS[2], '~total') or '0')}
`;

type Reply = number | string;

/**
 * What SETTLE did: `applied` (the cost added), `settled_already` (this id was),
 * `ledger` (admitted before the rebuild point: the ledger counts it; nothing
 * added), `no_counter` (nothing done: rebuild the counter, then send it again).
 */
export type SettleOutcome = "applied" | "settled_already" | "ledger" | "no_counter";

const SETTLE_OUTCOMES: Record<number, SettleOutcome> = { 1: "applied", 0: "settled_already", 2: "ledger", [-1]: "no_counter" };

/** The keys ADMIT and GROW take, then their ARGV, in the order `leasedCall` writes them. */
type LeasedCall = [spent: string, res: string, leases: string, marker: string, now: number, limit: number, ...own: Reply[]];

type ScriptClient = {
  sbSpendAdmit(...call: LeasedCall): Promise<[number, Reply, Reply]>;
  sbSpendGrow(...call: LeasedCall): Promise<[Reply, Reply]>;
  sbSpendSettle(...call: [spent: string, res: string, leases: string, marker: string, rebuilt: string, id: string, cost: number, markerTtlMs: number, atMs: number, now: number, keepMs: number]): Promise<number>;
  sbSpendRebuild(spent: string, rebuilt: string, spend: number, atMs: number, keepMs: number): Promise<number>;
  sbSpendRebase(spent: string, rebuilt: string, res: string, leases: string, atMs: string, spend: number, ...callIds: string[]): Promise<number>;
  sbSpendRelease(spent: string, res: string, leases: string, marker: string, id: string, markerTtlMs: number): Promise<number>;
  sbSpendRead(spent: string, res: string, leases: string, now: number): Promise<[Reply, Reply]>;
};

/** What a script that reserves under a lease (ADMIT, GROW) is told besides its own arguments. */
export interface LeaseArgs {
  now: number;
  limit: number;
  callId: string;
  leaseMs: number;
  /** How long the counter's keys are kept (at least 1 ms is sent). */
  keepMs: number;
}

/** A settlement's call as SETTLE judges it against a rebuild point: see `SpendScripts.settle`. */
export interface HeldArgs {
  atMs: number;
  now: number;
  /** How long the counter's keys are kept, and so how long the entry may hold the call's cost. */
  keepMs: number;
}

export interface GrowArgs extends LeaseArgs {
  growth: number;
  /** An economy call of a key in economy-only mode: it may grow past the limit, as such calls are admitted past it. */
  pastLimit: boolean;
}

export interface AdmitArgs extends LeaseArgs {
  soft: number;
  normal: number;
  /** -1: the call has no economy option. */
  economy: number;
  economyOnly: boolean;
}

/**
 * The keys and ARGV of ADMIT or GROW, in the one order both read: now, limit,
 * the script's `own` arguments, call id, lease ms, keep ms.
 */
function leasedCall(keys: SpendKeys, lease: LeaseArgs, own: Reply[]): LeasedCall {
  return [keys.spent, keys.reservations, keys.leases, keys.marker, lease.now, lease.limit, ...own, lease.callId, lease.leaseMs, Math.max(Math.ceil(lease.keepMs), 1)];
}

/** The scripts, defined once on a link's client; typed and with their keys in order. */
export class SpendScripts {
  private readonly client: ScriptClient;

  constructor(private readonly link: RedisLink) {
    link.client.defineCommand("sbSpendAdmit", { numberOfKeys: 4, lua: ADMIT });
    link.client.defineCommand("sbSpendGrow", { numberOfKeys: 4, lua: GROW });
    link.client.defineCommand("sbSpendSettle", { numberOfKeys: 5, lua: SETTLE });
    link.client.defineCommand("sbSpendRebuild", { numberOfKeys: 2, lua: REBUILD });
    link.client.defineCommand("sbSpendRebase", { numberOfKeys: 4, lua: REBASE });
    link.client.defineCommand("sbSpendRelease", { numberOfKeys: 4, lua: RELEASE });
    link.client.defineCommand("sbSpendRead", { numberOfKeys: 3, lua: SPENT });
    this.client = link.client as unknown as ScriptClient;
  }

  /** `undefined` when the spend counter is missing (rebuild it from the ledger, then ask again). */
  async admit(keys: SpendKeys, a: AdmitArgs): Promise<{ decision: number; spent: number; reserved: number } | undefined> {
    const [decision, spent, reserved] = await this.client.sbSpendAdmit(...leasedCall(keys, a, [a.soft, a.normal, a.economy, a.economyOnly ? 1 : 0]));
    if (Number(decision) === -1) return undefined;
    return { decision: Number(decision), spent: Number(spent), reserved: Number(reserved) };
  }

  /** `undefined` when the spend counter is missing (rebuild it from the ledger, then ask again). */
  async grow(keys: SpendKeys, a: GrowArgs): Promise<{ granted: boolean; spent: number } | undefined> {
    const [granted, spent] = await this.client.sbSpendGrow(...leasedCall(keys, a, [a.growth, a.pastLimit ? 1 : 0]));
    if (Number(granted) === -1) return undefined;
    return { granted: Number(granted) === 1, spent: Number(spent) };
  }

  /**
   * `held` tells when the call was admitted (its ledger row's `at_ms`) and,
   * should the ledger count it, how long its entry holds its cost; without
   * it, the settlement is added whenever the call was admitted.
   */
  async settle(keys: SpendKeys, callId: string, costNanos: number, held?: HeldArgs): Promise<SettleOutcome> {
    const { atMs, now, keepMs } = held ?? { atMs: -1, now: 0, keepMs: 1 };
    const args = [keys.spent, keys.reservations, keys.leases, keys.marker, keys.rebuilt, callId, costNanos, MARKER_TTL_MS, atMs, now, Math.max(Math.ceil(keepMs), 1)] as const;
    const outcome = SETTLE_OUTCOMES[Number(await this.client.sbSpendSettle(...args))];
    if (!outcome) throw new Error("the settle script gave an answer it never gives");
    return outcome;
  }

  /** Creates the missing counter at `spend`, rebuilt from the ledger's calls admitted before `atMs`; false when another instance got there first. */
  async rebuild(keys: SpendKeys, spend: number, atMs: number, keepMs: number): Promise<boolean> {
    return (await this.client.sbSpendRebuild(keys.spent, keys.rebuilt, spend, atMs, Math.max(Math.ceil(keepMs), 1))) === 1;
  }

  /** The counter's rebuild point (as Redis has it), or undefined: no counter, or one made by an older version (no point). */
  async rebuildPoint(keys: SpendKeys): Promise<string | undefined> {
    return (await this.link.client.hget(keys.rebuilt, "at")) ?? undefined;
  }

  /**
   * Raises the counter to `spend` read from the ledger before its rebuild point
   * `atMs`, dropping the entries of `callIds` (whose rows it read): "stale" when
   * it was rebuilt for another point meanwhile.
   */
  async rebase(keys: SpendKeys, atMs: string, spend: number, callIds: readonly string[]): Promise<"done" | "stale" | "no_counter"> {
    const answer = Number(await this.client.sbSpendRebase(keys.spent, keys.rebuilt, keys.reservations, keys.leases, atMs, spend, ...callIds));
    return answer === 1 ? "done" : answer === 0 ? "stale" : "no_counter";
  }

  async release(keys: SpendKeys, callId: string): Promise<void> {
    await this.client.sbSpendRelease(keys.spent, keys.reservations, keys.leases, keys.marker, callId, MARKER_TTL_MS);
  }

  /** Settled spend and live reservations; `undefined` when the counter is missing. */
  async read(keys: SpendKeys, now: number): Promise<{ settled: number; reserved: number } | undefined> {
    const [settled, reserved] = await this.client.sbSpendRead(keys.spent, keys.reservations, keys.leases, now);
    if (Number(settled) === -1) return undefined;
    return { settled: Number(settled), reserved: Number(reserved) };
  }
}
