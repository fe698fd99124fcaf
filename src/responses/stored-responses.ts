import { fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { MessageSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { excerpt } from "../common/excerpt.js";
import { gatewayError } from "../common/gateway-error.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../observability/logger.js";
import { wellFormed } from "../common/lone-surrogates.js";
import { blocksIn, UNIFIED_BLOCKS, type CallSize } from "../providers/call-size.js";
import { num, type SqlDatabase, type SqlRow, type SqlValue } from "../store/sql.js";
import { ConversationIndex, encodeIndexed, listingOf, messagesOfRun, type StoredListing } from "./conversation-index.js";
import { KeyStorageQuota, type StorageReservation } from "./key-storage-quota.js";
import { sizeOf } from "./size-of.js";

/** How long a response is kept when the operator says nothing: OpenAI keeps stored responses for 30 days. */
export const DEFAULT_RESPONSE_TTL_MS = 30 * 86_400_000;

/** What one key may keep at once when the operator says nothing: each response holds its whole conversation, so a long agent session keeps its history many times over. */
export const DEFAULT_MAX_BYTES_PER_KEY = 1024 * 1024 * 1024;

/**
 * What one response may hold when the operator says nothing: four request
 * bodies (8 MiB each), as much as the largest answer the gateway reads. A
 * continuation parses its whole conversation at once, so without a bound a
 * chain grown a body at a time (reasoning text no vendor is sent costs no
 * tokens) takes the process past its heap.
 */
export const DEFAULT_MAX_BYTES_PER_RESPONSE = 32 * 1024 * 1024;

/** Expired rows are deleted every this many writes, a bounded number at a time. */
const PRUNE_EVERY = 100;
const PRUNE_LIMIT = 1_000;

/**
 * Expired rows are also deleted this often, and once at start, whatever the
 * traffic: a process restarted before it wrote PRUNE_EVERY responses, or one
 * serving only `store: false`, would otherwise keep them past their TTL.
 */
export const PRUNE_INTERVAL_MS = 5 * 60_000;
/** Batches (of PRUNE_LIMIT rows, each its own statement, so other queries go between them) one timed run deletes at most. */
const PRUNE_BATCHES_PER_RUN = 10;

/** Stored bytes an answer's token is expected to take: about 4 characters a token, kept twice (in the conversation and in the Response). */
const STORED_BYTES_PER_ANSWER_TOKEN = 8;

/** Responses committed in one statement at most: well under both engines' bound-parameter limits (COLUMNS a row). */
const MAX_BATCH = 100;
/** The bytes one INSERT carries at most (a response alone may be larger): far below Postgres's 1 GB message and SQLite's 1 GB string. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** What a response's row holds, in the order `put` gives them. */
const COLUMNS = ["id", "key_id", "create_ms", "expire_ms", "conversation", "response", "bytes", "message_count", "block_count", "message_index"];

/** A response as kept: the conversation it ended (to continue it) and the Response object as it was answered (for GET). */
export interface StoredResponse {
  conversation: Message[];
  response: JsonObject;
}

/** A response as found to continue it, with its size as stored (what a response continuing it starts from). */
export interface FoundResponse extends StoredResponse {
  bytes: number;
}

/** What a response to continue holds, as its row says without its conversation being read. */
export interface StoredFootprint {
  bytes: number;
  /** Its conversation's messages and content blocks; unknown for a response stored before they were counted. */
  size: CallSize | undefined;
}

/** What a call expects its stored response to hold, for its reservation. */
export interface ResponseRoom {
  /** The stored response it continues, as stored (0 when it continues none). */
  previousBytes: number;
  /** Its input and what its Response repeats of the request. */
  requestBytes: number;
  /** Its answer, as expected (`storedAnswerBytes`). */
  answerBytes: number;
}

/** A response waiting to be written: its row's values and bytes, and its caller's promise. */
interface Waiting {
  values: SqlValue[];
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** Whether `put` kept the response: one its answer took past what one response may hold is not kept, nor one the store did not take. */
export type PutOutcome =
  | { stored: true }
  | { stored: false; reason: "response_too_large"; bytes: number; limitBytes: number }
  /** The store did not take it (down, read-only, full): the answer is the caller's all the same. */
  | { stored: false; reason: "store_failed"; error: string };

export interface StoredResponsesOptions {
  ttlMs?: number;
  /** The bytes of live responses (conversation and answer, as stored) one key may keep; storing more is refused until some expire or are deleted. */
  maxBytesPerKey?: number;
  /** The bytes one response (conversation and answer, as stored) may hold: a larger one is not stored, and one stored before is not continued. */
  maxBytesPerResponse?: number;
  now?: () => number;
  /** Where a failed pruning run is told; unsaid when unset. */
  logger?: Logger;
}

/**
 * The responses of `POST /v1/responses` kept for `previous_response_id`,
 * `GET` and `DELETE /v1/responses/{id}`, in the gateway's store (so every
 * instance sees them). Each belongs to the key that made it: another key
 * reads nothing, exactly as if it did not exist. A response lives until its
 * TTL passes; the conversation kept is the unified messages (the instructions
 * left out, as the Responses API does not carry them over). What one key
 * keeps is bounded: a caller repeating a large deterministic request would
 * otherwise store it again at every cache hit, free, until the disk is full.
 * So is what one response holds, as a continuation parses it whole.
 */
export class StoredResponses {
  private readonly ttlMs: number;
  private readonly maxBytesPerResponse: number;
  private readonly now: () => number;
  private readonly quota: KeyStorageQuota;
  private readonly logger: Logger | undefined;
  private writes = 0;
  private pruner: NodeJS.Timeout | undefined;
  private pruning: Promise<unknown> | undefined;
  private readonly waiting: Waiting[] = [];
  private committing: Promise<void> | undefined;

  constructor(
    private readonly db: SqlDatabase,
    options: StoredResponsesOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_RESPONSE_TTL_MS;
    this.maxBytesPerResponse = options.maxBytesPerResponse ?? DEFAULT_MAX_BYTES_PER_RESPONSE;
    this.now = options.now ?? Date.now;
    this.quota = new KeyStorageQuota(db, options.maxBytesPerKey ?? DEFAULT_MAX_BYTES_PER_KEY, this.now);
    this.logger = options.logger;
  }

  /**
   * Reserves room for the response a call expects to store, before the
   * vendor is asked: what it continues, its input and what its Response
   * repeats, and its answer as expected, never more than one response may
   * hold (a response its answer takes past that is not stored). Refused
   * (InvalidArgument) when what is known before the answer is already past
   * what one response may hold, or (ResourceExhausted) past what the key may
   * keep with its other calls in flight. The caller releases it if nothing
   * is stored; storing releases what the answer did not use.
   */
  async reserve(keyId: string, room: ResponseRoom): Promise<StorageReservation> {
    const known = room.previousBytes + room.requestBytes;
    if (known > this.maxBytesPerResponse) throw room.previousBytes > 0 ? this.continuationTooLarge(known) : this.requestTooLarge(known);
    return this.quota.reserve(keyId, Math.min(known + room.answerBytes, this.maxBytesPerResponse));
  }

  /**
   * Keeps a response; resolves once it is committed, so that the caller can
   * go on from it at once, on any instance. One past what a response may
   * hold (its answer took it there: the rest was checked at `reserve`) is not
   * kept, and says so: the answer is the caller's all the same. Writes that
   * arrive while one is being committed are committed together in one
   * transaction: an embedded SQLite commit blocks the process for its fsync,
   * and is paid once per batch rather than once per response.
   */
  async put(id: string, keyId: string, stored: StoredResponse, reservation?: StorageReservation): Promise<PutOutcome> {
    const now = this.now();
    const { conversation, index } = encodeIndexed(stored.conversation);
    const response = JSON.stringify(stored.response);
    // The index is kept too: a few bytes a message, counted with them.
    const bytes = Buffer.byteLength(conversation) + Buffer.byteLength(response) + index.length;
    const size = conversationSize(stored.conversation);
    // The reservation becomes the bytes stored in one step (what the answer did not use is given back), so the key's total never counts them twice or not at all.
    reservation?.release();
    if (bytes > this.maxBytesPerResponse) return { stored: false, reason: "response_too_large", bytes, limitBytes: this.maxBytesPerResponse };
    const write = new Promise<void>((resolve, reject) => {
      this.waiting.push({ values: [id, keyId, now, now + this.ttlMs, conversation, response, bytes, size.messages, size.blocks, index], bytes, resolve, reject });
      this.committing ??= this.commitWaiting();
    });
    try {
      await this.quota.storing(keyId, bytes, write);
    } catch (err) {
      return { stored: false, reason: "store_failed", error: (err as Error).message };
    }
    return { stored: true };
  }

  private async commitWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.nextBatch();
      try {
        await this.insert(batch);
        for (const write of batch) write.resolve();
      } catch (err) {
        // One response the store refuses (or a batch too large for it) fails alone: the others are written one by one.
        if (batch.length === 1) batch[0]!.reject(err);
        else for (const write of batch) await this.insert([write]).then(write.resolve, write.reject);
      }
      this.writes += batch.length;
      if (this.writes >= PRUNE_EVERY) {
        this.writes = 0;
        await this.prune().catch(() => undefined);
      }
    }
    this.committing = undefined;
  }

  /** The writes waiting, oldest first, up to MAX_BATCH of them and MAX_BATCH_BYTES (one at least). */
  private nextBatch(): Waiting[] {
    let count = 0;
    let bytes = 0;
    while (count < Math.min(MAX_BATCH, this.waiting.length) && (count === 0 || bytes + this.waiting[count]!.bytes <= MAX_BATCH_BYTES)) bytes += this.waiting[count++]!.bytes;
    return this.waiting.splice(0, count);
  }

  private insert(batch: readonly Waiting[]): Promise<number> {
    const tuples = batch.map((_, i) => `(${COLUMNS.map((_, n) => `$${i * COLUMNS.length + n + 1}`).join(", ")})`);
    return this.db.run(`INSERT INTO stored_responses (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")}`, batch.flatMap((write) => write.values));
  }

  /**
   * The size of the response to continue (its bytes, and its conversation's
   * messages and blocks when they were counted), if `keyId` made it and it
   * has not expired; refused (InvalidArgument) if it holds more bytes than
   * one response may. Its conversation is not read: what a continuation
   * checks (and reserves room by) before `get` reads and parses the
   * conversation.
   */
  async footprintOf(id: string, keyId: string): Promise<StoredFootprint | undefined> {
    const footprint = await this.footprintRow(id, keyId);
    if (footprint && footprint.bytes > this.maxBytesPerResponse) throw this.storedTooLarge(id, footprint.bytes);
    return footprint;
  }

  /** Whether `keyId` made this response and it has not expired, whatever it holds: the footprint's query, which reads neither its conversation nor its Response. */
  async holds(id: string, keyId: string): Promise<boolean> {
    return (await this.footprintRow(id, keyId)) !== undefined;
  }

  private async footprintRow(id: string, keyId: string): Promise<StoredFootprint | undefined> {
    const [row] = await this.db.query("SELECT bytes, message_count, block_count FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3", [
      id,
      keyId,
      this.now(),
    ]);
    if (!row) return undefined;
    const counted = row.message_count !== null && row.message_count !== undefined && row.block_count !== null && row.block_count !== undefined;
    return { bytes: num(row.bytes), size: counted ? { messages: num(row.message_count), blocks: num(row.block_count) } : undefined };
  }

  /**
   * The response to continue, if `keyId` made it and it has not expired;
   * refused (InvalidArgument) if it holds more than one response may. The
   * size is checked in the query, so an oversized row is never read, let
   * alone parsed.
   */
  async get(id: string, keyId: string): Promise<FoundResponse | undefined> {
    const row = await this.readWithin(id, keyId, "conversation, response");
    if (!row) return undefined;
    const conversation = (JSON.parse(String(row.conversation)) as JsonValue[]).map(decodeMessage);
    return { conversation, response: JSON.parse(String(row.response)) as JsonObject, bytes: row.bytes };
  }

  /**
   * The conversation of a response as input items are listed from it, if
   * `keyId` made it and it has not expired: its index is read, and then
   * only the messages a page asks for (SUBSTR of the stored text), so a page
   * costs what is on it, however large the rest. A response stored before
   * conversations were indexed is read and parsed whole, refused as `get`
   * refuses; so is one whose index does not match its text.
   */
  async listing(id: string, keyId: string): Promise<StoredListing | undefined> {
    const [row] = await this.db.query("SELECT message_index FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3", [id, keyId, this.now()]);
    if (!row) return undefined;
    const index = ConversationIndex.read(row.message_index);
    if (!index) return this.wholeListing(id, keyId);
    return { itemCounts: index.itemCounts, messages: (indices) => this.messagesAt(id, keyId, index, indices) };
  }

  /** The messages at `indices`, each run of them one SUBSTR of the stored text; undefined when the response is gone. */
  private async messagesAt(id: string, keyId: string, index: ConversationIndex, indices: readonly number[]): Promise<Map<number, JsonValue> | undefined> {
    const runs = index.runs(indices);
    const texts = runs.map((_, i) => `SUBSTR(conversation, $${4 + 2 * i}, $${5 + 2 * i}) AS run${i}`);
    const [row] = await this.db.query(`SELECT id${texts.map((text) => `, ${text}`).join("")} FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3`, [
      id,
      keyId,
      this.now(),
      ...runs.flatMap((run) => [run.start, run.length]),
    ]);
    if (!row) return undefined;
    const messages = new Map<number, JsonValue>();
    for (const [i, run] of runs.entries()) {
      const read = messagesOfRun(row[`run${i}`], run, index);
      if (!read) {
        // Its item counts still hold (made from the same messages): only where each message lies is off, so the page found stands.
        this.logger?.warn({ responseId: id }, "a stored response's message index does not match its conversation: it is read whole to list it");
        return (await this.wholeListing(id, keyId))?.messages(indices);
      }
      read.forEach((message, n) => messages.set(run.first + n, message));
    }
    return messages;
  }

  /** A conversation listed from its whole text, parsed (refused as `get` refuses). */
  private async wholeListing(id: string, keyId: string): Promise<StoredListing | undefined> {
    const row = await this.readWithin(id, keyId, "conversation");
    return row && listingOf(JSON.parse(String(row.conversation)) as JsonValue[]);
  }

  /**
   * A response's `columns`, refused (InvalidArgument) if it holds more than
   * one response may. The size is checked in the query, so an oversized row
   * is never read, let alone parsed.
   */
  private async readWithin(id: string, keyId: string, columns: "conversation" | "conversation, response"): Promise<({ bytes: number } & SqlRow) | undefined> {
    const within = columns
      .split(", ")
      .map((column) => `CASE WHEN bytes <= $4 THEN ${column} END AS ${column}`)
      .join(", ");
    const [row] = await this.db.query(`SELECT bytes, ${within} FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3`, [id, keyId, this.now(), this.maxBytesPerResponse]);
    if (!row) return undefined;
    const bytes = num(row.bytes);
    if (row.conversation === null || row.conversation === undefined) throw this.storedTooLarge(id, bytes);
    return { ...row, bytes };
  }

  /** The Response object as answered, if `keyId` made it and it has not expired (for GET: its conversation is not read). */
  async response(id: string, keyId: string): Promise<JsonObject | undefined> {
    const [row] = await this.db.query("SELECT response FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3", [id, keyId, this.now()]);
    return row ? (JSON.parse(String(row.response)) as JsonObject) : undefined;
  }

  /** Deletes the response if `keyId` made it; whether there was one to delete. */
  async delete(id: string, keyId: string): Promise<boolean> {
    const deleted = await this.db.query("DELETE FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3 RETURNING bytes", [id, keyId, this.now()]);
    for (const row of deleted) this.quota.deleted(keyId, num(row.bytes));
    return deleted.length > 0;
  }

  /**
   * Deletes every response of `keyId`, live or expired (a revoked key's), a
   * bounded number at a time; the number deleted.
   */
  async deleteKey(keyId: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const rows = await this.db.query(`SELECT id, bytes FROM stored_responses WHERE key_id = $1 LIMIT ${PRUNE_LIMIT}`, [keyId]);
      if (rows.length === 0) return deleted;
      const ids = rows.map((row) => String(row.id));
      deleted += await this.db.run(`DELETE FROM stored_responses WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(", ")})`, ids);
      this.quota.deleted(keyId, rows.reduce((sum, row) => sum + num(row.bytes), 0));
      if (rows.length < PRUNE_LIMIT) return deleted;
    }
  }

  /** Deletes expired responses, a bounded number at a time; the number deleted. */
  async prune(): Promise<number> {
    const expired = await this.db.query(`SELECT id FROM stored_responses WHERE expire_ms <= $1 LIMIT ${PRUNE_LIMIT}`, [this.now()]);
    if (expired.length === 0) return 0;
    const ids = expired.map((row) => String(row.id));
    return this.db.run(`DELETE FROM stored_responses WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(", ")})`, ids);
  }

  /**
   * Prunes now, then every PRUNE_INTERVAL_MS until `close`, at most
   * PRUNE_BATCHES_PER_RUN batches a run (a backlog goes over several runs
   * rather than holding the store at once); the timer keeps no process alive.
   */
  startPruning(): void {
    if (this.pruner) return;
    const run = (): void => {
      // A run still going (a slow store) is not doubled.
      this.pruning ??= this.pruneBatches()
        .catch((err: unknown) => this.logger?.warn({ error: (err as Error).message }, "could not prune expired stored responses"))
        .finally(() => (this.pruning = undefined));
    };
    run();
    this.pruner = setInterval(run, PRUNE_INTERVAL_MS);
    this.pruner.unref();
  }

  /** Stops pruning; resolves once a run in progress has ended (before the store closes). */
  async close(): Promise<void> {
    clearInterval(this.pruner);
    await this.pruning;
  }

  private async pruneBatches(): Promise<void> {
    for (let batch = 0; batch < PRUNE_BATCHES_PER_RUN; batch++) if ((await this.prune()) < PRUNE_LIMIT) return;
  }

  /** A call starting a conversation whose input is past what one response may hold: it can be answered unstored (InvalidArgument: retrying will not help). */
  private requestTooLarge(bytes: number): ConnectError {
    return this.tooLarge(`this call's input and what its Response repeats hold ${sizeOf(bytes)}, more than the ${sizeOf(this.maxBytesPerResponse)} one stored response may: send store: false to have it answered without storing it`);
  }

  /** A continuation past what one response may hold: the caller can only start a new conversation, or go on unstored. */
  private continuationTooLarge(bytes: number): ConnectError {
    return this.tooLarge(
      `this conversation would hold ${sizeOf(bytes)} with this call's input, more than the ${sizeOf(this.maxBytesPerResponse)} one stored response may: ` +
        "start a new conversation (send its input without previous_response_id), or send store: false to have this turn answered without storing it",
    );
  }

  /** A stored response past what one may hold (kept before the limit was lowered): it is never read, so it cannot be continued. */
  private storedTooLarge(id: string, bytes: number): ConnectError {
    return this.tooLarge(
      `response "${excerpt(id)}" holds ${sizeOf(bytes)}, more than the ${sizeOf(this.maxBytesPerResponse)} one stored response may now: start a new conversation (send its input without previous_response_id)`,
    );
  }

  private tooLarge(message: string): ConnectError {
    return gatewayError(Code.InvalidArgument, message, "RESPONSE_TOO_LARGE", { limit_bytes: String(this.maxBytesPerResponse) });
  }

  /** How many responses are kept (for tests and support). */
  async count(): Promise<number> {
    const [row] = await this.db.query("SELECT COUNT(*) AS n FROM stored_responses");
    return num(row?.n);
  }
}

/**
 * What a call's answer is expected to add to its stored response, from the
 * most tokens it may run to (`max_output_tokens`, else the model's most as
 * the catalogue knows it, else a generous default).
 */
export function storedAnswerBytes(maxOutputTokens: number): number {
  return maxOutputTokens * STORED_BYTES_PER_ANSWER_TOKEN;
}

/**
 * A stored message decoded. One stored before the REST surfaces refused lone
 * surrogates (api/envelope/json-body.ts) may hold some, which proto JSON
 * refuses ("invalid UTF8"): they are read as U+FFFD, as an encoder sends
 * them, so that a response stored and paid for stays readable.
 */
export function decodeMessage(stored: JsonValue): Message {
  try {
    return fromJson(MessageSchema, stored);
  } catch (err) {
    const repaired = wellFormedJson(stored);
    if (repaired === stored) throw err;
    return fromJson(MessageSchema, repaired);
  }
}

/** A JSON value with each string's lone surrogates replaced by U+FFFD; the same value when it holds none. */
function wellFormedJson(value: JsonValue): JsonValue {
  if (typeof value === "string") return wellFormed(value);
  if (typeof value !== "object" || value === null) return value;
  let changed = false;
  const mark = <T extends JsonValue>(before: T, after: T): T => {
    if (after !== before) changed = true;
    return after;
  };
  const copy: JsonValue = Array.isArray(value)
    ? value.map((entry) => mark(entry, wellFormedJson(entry)))
    : Object.fromEntries(Object.entries(value).map(([key, entry]) => [mark(key, wellFormed(key)), mark(entry, wellFormedJson(entry))]));
  return changed ? copy : value;
}

/** A conversation's messages and content blocks, as a call's bounds count them (providers/call-size.ts). */
export function conversationSize(messages: readonly Message[]): CallSize {
  return { messages: messages.length, blocks: blocksIn(messages, UNIFIED_BLOCKS) };
}

/** A conversation as stored (proto JSON of the unified messages); its length in bytes is what it adds to a response. */
export function encodeConversation(messages: readonly Message[]): string {
  return JSON.stringify(messages.map((message) => toJson(MessageSchema, message)));
}

/** A key's limit from `SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY`, in bytes, or the default; a value that is not a positive number is an error. */
export function responsesMaxBytesFromEnv(env: NodeJS.ProcessEnv): number {
  const mb = positiveFromEnv(env, "SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY", "MB");
  return mb === undefined ? DEFAULT_MAX_BYTES_PER_KEY : Math.round(mb * 1024 * 1024);
}

/** What one response may hold, from `SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE`, in bytes, or the default; a value that is not a positive number is an error. */
export function responseMaxBytesFromEnv(env: NodeJS.ProcessEnv): number {
  const mb = positiveFromEnv(env, "SWITCHBOARD_RESPONSES_MAX_MB_PER_RESPONSE", "MB");
  return mb === undefined ? DEFAULT_MAX_BYTES_PER_RESPONSE : Math.round(mb * 1024 * 1024);
}

/** The TTL from `SWITCHBOARD_RESPONSES_TTL_HOURS`, or the default; a value that is not a positive number is an error. */
export function responseTtlFromEnv(env: NodeJS.ProcessEnv): number {
  const hours = positiveFromEnv(env, "SWITCHBOARD_RESPONSES_TTL_HOURS", "hours");
  return hours === undefined ? DEFAULT_RESPONSE_TTL_MS : hours * 3_600_000;
}

/** A positive number from the environment; undefined when unset or blank. */
function positiveFromEnv(env: NodeJS.ProcessEnv, name: string, unit: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError("environment", name, `must be a positive number of ${unit}, not "${raw}"`);
  return value;
}
