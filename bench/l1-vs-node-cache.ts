// Why L1 is a byte-bounded LRU of our own rather than node-cache (which the
// design names): the cost of a hit, and what each keeps once full. node-cache
// is not a dependency; to run this, fetch it beside the project without
// saving it:
//
//   npm install --no-save node-cache@5.1.2 && npx tsx bench/l1-vs-node-cache.ts
//
// (or NODE_CACHE_DIR=/some/dir/with/node_modules/node-cache/.. to use one elsewhere).
import { createRequire } from "node:module";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { FinishReason, MessageSchema, Role, UsageSchema } from "../gen/ts/switchboard/v1/chat_pb.js";
import { decodeAnswer, encodeAnswer } from "../src/cache/answer-codec.js";
import { MemoryCache } from "../src/cache/memory-cache.js";
import type { CacheableAnswer } from "../src/gateway/response-cache.js";

interface NodeCacheLike {
  set(key: string, value: unknown, ttlSeconds?: number): boolean;
  get(key: string): unknown;
  keys(): string[];
  close(): void;
}
type NodeCacheClass = new (options: Record<string, unknown>) => NodeCacheLike;

const require = createRequire(process.env.NODE_CACHE_DIR ? join(process.env.NODE_CACHE_DIR, "x.js") : import.meta.url);
let NodeCache: NodeCacheClass;
try {
  NodeCache = require("node-cache") as NodeCacheClass;
} catch {
  console.error("node-cache is not installed: npm install --no-save node-cache@5.1.2");
  process.exit(2);
}

const HITS = 200_000;
const CAPACITY = 1_000;

/** A typical cached answer: about 1.5 KB of text with usage. */
const answer: CacheableAnswer = {
  id: "chatcmpl-bench",
  message: create(MessageSchema, { role: Role.ASSISTANT, content: "A sentence of a typical answer, repeated. ".repeat(35) }),
  finishReason: FinishReason.STOP,
  usage: create(UsageSchema, { promptTokens: 40, completionTokens: 300, totalTokens: 340 }),
  served: { provider: "openai", upstreamModel: "gpt-4o-mini" },
};
const bytes = encodeAnswer(answer);
const labels = { partition: "key:bench", provider: "openai", model: "gpt-4o-mini" };

function timePerOp(label: string, op: () => unknown): number {
  for (let i = 0; i < 20_000; i++) op(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < HITS; i++) op();
  const ns = Number(process.hrtime.bigint() - started) / HITS;
  console.log(`| ${label} | ${(ns / 1000).toFixed(2)} µs |`);
  return ns;
}

console.log(`\nA hit on a ${bytes.length}-byte answer, ${HITS} times (${process.version}):\n`);
console.log("| L1 | per hit |");
console.log("|---|---|");
const lru = new MemoryCache({ maxEntries: CAPACITY, maxBytes: 64 * 1024 * 1024 });
lru.set("k", { bytes, expiresAt: Date.now() + 3_600_000, labels });
timePerOp("byte-bounded LRU (ours): get + decode a fresh answer", () => decodeAnswer(lru.get("k")!.bytes));
const cloning = new NodeCache({ stdTTL: 3600, maxKeys: CAPACITY });
cloning.set("k", answer);
timePerOp("node-cache, defaults (useClones: true): get of the answer object", () => cloning.get("k"));
const sharing = new NodeCache({ stdTTL: 3600, maxKeys: CAPACITY, useClones: false });
sharing.set("k", bytes);
timePerOp("node-cache, useClones: false: get + decode the bytes", () => decodeAnswer(sharing.get("k") as Uint8Array));

console.log(`\nOnce full: ${CAPACITY * 2} distinct answers stored into room for ${CAPACITY}, then the latest ${CAPACITY} asked again:\n`);
console.log("| L1 | stored | latest answers found | bytes bound |");
console.log("|---|---|---|---|");
const full = new MemoryCache({ maxEntries: CAPACITY, maxBytes: 64 * 1024 * 1024 });
let lruStored = 0;
for (let i = 0; i < CAPACITY * 2; i++) if (full.set(`k${i}`, { bytes, expiresAt: Date.now() + 3_600_000, labels })) lruStored++;
let lruFound = 0;
for (let i = CAPACITY; i < CAPACITY * 2; i++) if (full.get(`k${i}`)) lruFound++;
console.log(`| byte-bounded LRU (ours) | ${lruStored} (oldest evicted) | ${lruFound} of ${CAPACITY} | max_bytes, counted per entry |`);
const capped = new NodeCache({ stdTTL: 3600, maxKeys: CAPACITY, useClones: false });
let ncStored = 0;
let refused = 0;
for (let i = 0; i < CAPACITY * 2; i++) {
  try {
    if (capped.set(`k${i}`, bytes)) ncStored++;
  } catch {
    refused++; // ECACHEFULL: node-cache refuses new keys instead of evicting old ones
  }
}
let ncFound = 0;
for (let i = CAPACITY; i < CAPACITY * 2; i++) if (capped.get(`k${i}`) !== undefined) ncFound++;
console.log(`| node-cache (maxKeys) | ${ncStored} (${refused} refused: ECACHEFULL) | ${ncFound} of ${CAPACITY} | none (a key count only) |`);
for (const cache of [cloning, sharing, capped]) cache.close();
