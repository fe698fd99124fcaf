import type { RedisLink } from "../redis/redis-link.js";

/**
 * How L2's bytes are counted: in four hashes, the whole level's, the entry's
 * partition's, its writer's (the gateway key whose call the answer was) and
 * its tenant's (the writer's team, or the writer alone when it has none),
 * which share a hash tag (`{bytes}`: one cluster slot, apart from the
 * entries'). Each field is a time by which the entries counted in it have
 * expired, and holds their bytes: a field whose time is past counts no more,
 * and is dropped. The writer's hash bounds what one key holds across every
 * partition it writes to (its own, its team's, every shared route's), so no
 * one key fills the level through the partitions it reaches; the tenant's
 * bounds what a team's keys hold together, so no team fills it through the
 * keys it can mint.
 *
 * Each entry written has a charge beside it (`{prefix}cache:m:{{id}}`, in the
 * entry's slot, written and expiring with it) saying what was counted for it:
 * an entry purged or replaced before its TTL gives its bytes back.
 */

// KEYS: the level's hash, the partition's, the writer's, the tenant's. ARGV: bytes, the entry's field, now (ms), then each hash's bound in that order.
// Returns 1 when the entry fits in all of them (and counts it in each), 0 when it does not (and counts nothing).
export const RESERVE = `
local size, field, now = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local function live(key)
  local total, last = 0, tonumber(field)
  local counted = redis.call('HGETALL', key)
  for i = 1, #counted, 2 do
    local ends = tonumber(counted[i])
    if ends <= now then redis.call('HDEL', key, counted[i])
    else
      total = total + tonumber(counted[i + 1])
      if ends > last then last = ends end
    end
  end
  return total, last
end
local totals, lasts = {}, {}
for i = 1, #KEYS do
  totals[i], lasts[i] = live(KEYS[i])
  if totals[i] + size > tonumber(ARGV[3 + i]) then return 0 end
end
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], field, size)
  redis.call('PEXPIRE', KEYS[i], lasts[i] - now + 1000)
end
return 1
`;

// KEYS: the hashes the entry was counted in. ARGV: the entry's field, bytes.
// Takes the bytes back from each hash that still counts that field (one already dropped counts nothing).
export const RELEASE = `
for i = 1, #KEYS do
  if redis.call('HEXISTS', KEYS[i], ARGV[1]) == 1 then
    if redis.call('HINCRBY', KEYS[i], ARGV[1], -tonumber(ARGV[2])) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
  end
end
return 1
`;

/**
 * What was counted for one entry: its bytes, in which field, of which
 * partition's, writer's and tenant's hashes (keyed tags, never names). A
 * charge kept before tenants were counted has no tenant tag: its bytes were
 * not counted there, and are not given back there.
 */
export interface ByteCharge {
  field: number;
  bytes: number;
  partitionTag: string;
  writerTag: string;
  tenantTag?: string;
}

/** An entry's bytes are counted until a time rounded up to a step of about this share of its TTL (a power of two, at least a second): few fields per hash, a little over-counted. */
const COUNT_STEPS_PER_TTL = 32;

/** The field an entry living `ttlMs` from `now` is counted in: a time at or after its expiry. */
export function countedUntil(now: number, ttlMs: number): number {
  const step = 2 ** Math.ceil(Math.log2(Math.max(1_000, ttlMs / COUNT_STEPS_PER_TTL)));
  return Math.ceil((now + ttlMs) / step) * step;
}

/** The hashes a charge is counted in: the level's, the partition's, the writer's, and the tenant's when it has one. */
export function chargedHashes(link: RedisLink, charge: Pick<ByteCharge, "partitionTag" | "writerTag" | "tenantTag">): string[] {
  const level = link.key("cache", "bytes", "{bytes}");
  const hashes = [level, link.key("cache", "bytes", "{bytes}", charge.partitionTag), link.key("cache", "bytes", "{bytes}", "w", charge.writerTag)];
  if (charge.tenantTag !== undefined) hashes.push(link.key("cache", "bytes", "{bytes}", "t", charge.tenantTag));
  return hashes;
}

/** The charge as kept beside its entry. Tags are base64url: no spaces. */
export function chargeText(charge: ByteCharge): string {
  return [charge.field, charge.bytes, charge.partitionTag, charge.writerTag, ...(charge.tenantTag === undefined ? [] : [charge.tenantTag])].join(" ");
}

/** A charge read back; undefined for none (an entry written before charges were kept) or one not understood. */
export function parseCharge(text: string | null | undefined): ByteCharge | undefined {
  const [field, bytes, partitionTag, writerTag, tenantTag, ...rest] = (text ?? "").split(" ");
  if (!partitionTag || !writerTag || tenantTag === "" || rest.length > 0 || !Number.isSafeInteger(Number(field)) || !Number.isSafeInteger(Number(bytes))) return undefined;
  return { field: Number(field), bytes: Number(bytes), partitionTag, writerTag, ...(tenantTag === undefined ? {} : { tenantTag }) };
}
