import { fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { MessageSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { gatewayError } from "../common/gateway-error.js";
import { ConfigError } from "../config/config-error.js";
import { num, type SqlDatabase, type SqlValue } from "../store/sql.js";
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

/** Responses committed in one statement at most: well under both engines' bound-parameter limits (7 a row). */
const MAX_BATCH = 100;

/** A response as kept: the conversation it ended (to continue it) and the Response object as it was answered (for GET). */
export interface StoredResponse {
  conversation: Message[];
  response: JsonObject;
}

/** A response as found to continue it, with its size as stored (what a response continuing it starts from). */
export interface FoundResponse extends StoredResponse {
  bytes: number;
}

export interface StoredResponsesOptions {
  ttlMs?: number;
  /** The bytes of live responses (conversation and answer, as stored) one key may keep; storing more is refused until some expire or are deleted. */
  maxBytesPerKey?: number;
  /** The bytes one response (conversation and answer, as stored) may hold: a larger one is not stored, and one stored before is not continued. */
  maxBytesPerResponse?: number;
  now?: () => number;
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
  private writes = 0;
  private readonly waiting: { values: SqlValue[]; resolve(): void; reject(err: unknown): void }[] = [];
  private committing: Promise<void> | undefined;

  constructor(
    private readonly db: SqlDatabase,
    options: StoredResponsesOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_RESPONSE_TTL_MS;
    this.maxBytesPerResponse = options.maxBytesPerResponse ?? DEFAULT_MAX_BYTES_PER_RESPONSE;
    this.now = options.now ?? Date.now;
    this.quota = new KeyStorageQuota(db, options.maxBytesPerKey ?? DEFAULT_MAX_BYTES_PER_KEY, this.now);
  }

  /**
   * Reserves room for the response a call expects to store (at least the
   * conversation it continues and its input), before the vendor is asked:
   * refused (InvalidArgument) past what one response may hold, or
   * (ResourceExhausted) past what the key may keep with its other calls in
   * flight. The caller releases it if nothing is stored.
   */
  async reserve(keyId: string, expectedBytes: number): Promise<StorageReservation> {
    if (expectedBytes > this.maxBytesPerResponse) throw this.tooLarge(expectedBytes);
    return this.quota.reserve(keyId, expectedBytes);
  }

  /**
   * Keeps a response; resolves once it is committed, so that the caller can
   * go on from it at once, on any instance. Writes that arrive while one is
   * being committed are committed together in one transaction: an embedded
   * SQLite commit blocks the process for its fsync, and is paid once per
   * batch rather than once per response.
   */
  put(id: string, keyId: string, stored: StoredResponse, reservation?: StorageReservation): Promise<void> {
    const now = this.now();
    const conversation = encodeConversation(stored.conversation);
    const response = JSON.stringify(stored.response);
    const bytes = Buffer.byteLength(conversation) + Buffer.byteLength(response);
    if (bytes > this.maxBytesPerResponse) return Promise.reject(this.tooLarge(bytes));
    // The reservation becomes the bytes stored in one step, so the key's total never counts them twice or not at all.
    reservation?.release();
    this.quota.stored(keyId, bytes);
    return new Promise((resolve, reject) => {
      this.waiting.push({ values: [id, keyId, now, now + this.ttlMs, conversation, response, bytes], resolve, reject });
      this.committing ??= this.commitWaiting();
    });
  }

  private async commitWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      const tuples = batch.map((_, i) => `(${[1, 2, 3, 4, 5, 6, 7].map((n) => `$${i * 7 + n}`).join(", ")})`);
      try {
        await this.db.run(`INSERT INTO stored_responses (id, key_id, create_ms, expire_ms, conversation, response, bytes) VALUES ${tuples.join(", ")}`, batch.flatMap((write) => write.values));
        for (const write of batch) write.resolve();
      } catch (err) {
        for (const write of batch) write.reject(err);
      }
      this.writes += batch.length;
      if (this.writes >= PRUNE_EVERY) {
        this.writes = 0;
        await this.prune().catch(() => undefined);
      }
    }
    this.committing = undefined;
  }

  /**
   * The response to continue, if `keyId` made it and it has not expired;
   * refused (InvalidArgument) if it holds more than one response may. The
   * size is checked in the query, so an oversized row is never read, let
   * alone parsed.
   */
  async get(id: string, keyId: string): Promise<FoundResponse | undefined> {
    const [row] = await this.db.query(
      `SELECT bytes, CASE WHEN bytes <= $4 THEN conversation END AS conversation, CASE WHEN bytes <= $4 THEN response END AS response
       FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3`,
      [id, keyId, this.now(), this.maxBytesPerResponse],
    );
    if (!row) return undefined;
    const bytes = num(row.bytes);
    if (row.conversation === null || row.conversation === undefined) throw this.tooLarge(bytes);
    const conversation = (JSON.parse(String(row.conversation)) as JsonValue[]).map((message) => fromJson(MessageSchema, message));
    return { conversation, response: JSON.parse(String(row.response)) as JsonObject, bytes };
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

  /** Deletes expired responses, a bounded number at a time; the number deleted. */
  async prune(): Promise<number> {
    const expired = await this.db.query(`SELECT id FROM stored_responses WHERE expire_ms <= $1 LIMIT ${PRUNE_LIMIT}`, [this.now()]);
    if (expired.length === 0) return 0;
    const ids = expired.map((row) => String(row.id));
    return this.db.run(`DELETE FROM stored_responses WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(", ")})`, ids);
  }

  /** Refusing a conversation past what one response may hold: the caller can only start a new one (InvalidArgument: retrying will not help). */
  private tooLarge(bytes: number): ConnectError {
    return gatewayError(
      Code.InvalidArgument,
      `this conversation holds ${sizeOf(bytes)}, more than the ${sizeOf(this.maxBytesPerResponse)} one stored response may: start a new conversation (send its input without previous_response_id)`,
      "RESPONSE_TOO_LARGE",
      { limit_bytes: String(this.maxBytesPerResponse) },
    );
  }

  /** How many responses are kept (for tests and support). */
  async count(): Promise<number> {
    const [row] = await this.db.query("SELECT COUNT(*) AS n FROM stored_responses");
    return num(row?.n);
  }
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
