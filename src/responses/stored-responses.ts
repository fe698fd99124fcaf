import { fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { MessageSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { gatewayError } from "../common/gateway-error.js";
import { ConfigError } from "../config/config-error.js";
import { num, type SqlDatabase, type SqlValue } from "../store/sql.js";

/** How long a response is kept when the operator says nothing: OpenAI keeps stored responses for 30 days. */
export const DEFAULT_RESPONSE_TTL_MS = 30 * 86_400_000;

/** What one key may keep at once when the operator says nothing: each response holds its whole conversation, so a long agent session keeps its history many times over. */
export const DEFAULT_MAX_BYTES_PER_KEY = 1024 * 1024 * 1024;

/** How long a key's stored total is taken as read before it is summed again (other instances' writes show within this). */
const HELD_FRESH_MS = 5_000;
/** Keys whose totals are remembered at once; past it the memory starts over (each total is one query away). */
const HELD_KEYS = 10_000;

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

export interface StoredResponsesOptions {
  ttlMs?: number;
  /** The bytes of live responses (conversation and answer, as stored) one key may keep; storing more is refused until some expire or are deleted. */
  maxBytesPerKey?: number;
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
 */
export class StoredResponses {
  private readonly ttlMs: number;
  private readonly maxBytesPerKey: number;
  private readonly now: () => number;
  /** Each key's stored bytes as last summed, plus what this instance stored since. */
  private readonly held = new Map<string, { bytes: number; summedAtMs: number }>();
  private writes = 0;
  private readonly waiting: { values: SqlValue[]; resolve(): void; reject(err: unknown): void }[] = [];
  private committing: Promise<void> | undefined;

  constructor(
    private readonly db: SqlDatabase,
    options: StoredResponsesOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_RESPONSE_TTL_MS;
    this.maxBytesPerKey = options.maxBytesPerKey ?? DEFAULT_MAX_BYTES_PER_KEY;
    this.now = options.now ?? Date.now;
  }

  /**
   * Refuses (ResourceExhausted) a call that would store a response for a key
   * already at its limit, before the vendor is asked. Calls admitted together
   * may each store one more response, as a budget lets each call in flight
   * finish.
   */
  async assertRoom(keyId: string): Promise<void> {
    const bytes = await this.bytesHeld(keyId);
    if (bytes < this.maxBytesPerKey) return;
    throw gatewayError(
      Code.ResourceExhausted,
      `this key keeps ${sizeOf(bytes)} of stored responses, its limit is ${sizeOf(this.maxBytesPerKey)}: delete some (DELETE /v1/responses/{id}), let them expire, or send store: false`,
      "RESPONSES_STORAGE_FULL",
      { key: keyId, limit_bytes: String(this.maxBytesPerKey) },
    );
  }

  private async bytesHeld(keyId: string): Promise<number> {
    const now = this.now();
    const known = this.held.get(keyId);
    if (known && now - known.summedAtMs < HELD_FRESH_MS) return known.bytes;
    const [row] = await this.db.query("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM stored_responses WHERE key_id = $1 AND expire_ms > $2", [keyId, now]);
    const bytes = num(row?.bytes);
    if (this.held.size >= HELD_KEYS) this.held.clear();
    this.held.set(keyId, { bytes, summedAtMs: now });
    return bytes;
  }

  /**
   * Keeps a response; resolves once it is committed, so that the caller can
   * go on from it at once, on any instance. Writes that arrive while one is
   * being committed are committed together in one transaction: an embedded
   * SQLite commit blocks the process for its fsync, and is paid once per
   * batch rather than once per response.
   */
  put(id: string, keyId: string, stored: StoredResponse): Promise<void> {
    const now = this.now();
    const conversation = JSON.stringify(stored.conversation.map((message) => toJson(MessageSchema, message)));
    const response = JSON.stringify(stored.response);
    const bytes = Buffer.byteLength(conversation) + Buffer.byteLength(response);
    const known = this.held.get(keyId);
    if (known) known.bytes += bytes;
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

  /** The response, if `keyId` made it and it has not expired. */
  async get(id: string, keyId: string): Promise<StoredResponse | undefined> {
    const [row] = await this.db.query("SELECT conversation, response FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3", [id, keyId, this.now()]);
    if (!row) return undefined;
    const conversation = (JSON.parse(String(row.conversation)) as JsonValue[]).map((message) => fromJson(MessageSchema, message));
    return { conversation, response: JSON.parse(String(row.response)) as JsonObject };
  }

  /** Deletes the response if `keyId` made it; whether there was one to delete. */
  async delete(id: string, keyId: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM stored_responses WHERE id = $1 AND key_id = $2 AND expire_ms > $3", [id, keyId, this.now()])) > 0;
  }

  /** Deletes expired responses, a bounded number at a time; the number deleted. */
  async prune(): Promise<number> {
    const expired = await this.db.query(`SELECT id FROM stored_responses WHERE expire_ms <= $1 LIMIT ${PRUNE_LIMIT}`, [this.now()]);
    if (expired.length === 0) return 0;
    const ids = expired.map((row) => String(row.id));
    return this.db.run(`DELETE FROM stored_responses WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(", ")})`, ids);
  }

  /** How many responses are kept (for tests and support). */
  async count(): Promise<number> {
    const [row] = await this.db.query("SELECT COUNT(*) AS n FROM stored_responses");
    return num(row?.n);
  }
}

/** A size as people read it: "512 bytes", "12 KB", "1024 MB". */
function sizeOf(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${Math.round(bytes / (1024 * 1024))} MB`;
}

/** A key's limit from `SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY`, in bytes, or the default; a value that is not a positive number is an error. */
export function responsesMaxBytesFromEnv(env: NodeJS.ProcessEnv): number {
  const mb = positiveFromEnv(env, "SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY", "MB");
  return mb === undefined ? DEFAULT_MAX_BYTES_PER_KEY : Math.round(mb * 1024 * 1024);
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
