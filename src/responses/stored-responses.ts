import { fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { MessageSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ConfigError } from "../config/config-error.js";
import { num, type SqlDatabase, type SqlValue } from "../store/sql.js";

/** How long a response is kept when the operator says nothing: OpenAI keeps stored responses for 30 days. */
export const DEFAULT_RESPONSE_TTL_MS = 30 * 86_400_000;

/** Expired rows are deleted every this many writes, a bounded number at a time. */
const PRUNE_EVERY = 100;
const PRUNE_LIMIT = 1_000;

/** Responses committed in one statement at most: well under both engines' bound-parameter limits (6 a row). */
const MAX_BATCH = 100;

/** A response as kept: the conversation it ended (to continue it) and the Response object as it was answered (for GET). */
export interface StoredResponse {
  conversation: Message[];
  response: JsonObject;
}

export interface StoredResponsesOptions {
  ttlMs?: number;
  now?: () => number;
}

/**
 * The responses of `POST /v1/responses` kept for `previous_response_id`,
 * `GET` and `DELETE /v1/responses/{id}`, in the gateway's store (so every
 * instance sees them). Each belongs to the key that made it: another key
 * reads nothing, exactly as if it did not exist. A response lives until its
 * TTL passes; the conversation kept is the unified messages (the instructions
 * left out, as the Responses API does not carry them over).
 */
export class StoredResponses {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private writes = 0;
  private readonly waiting: { values: SqlValue[]; resolve(): void; reject(err: unknown): void }[] = [];
  private committing: Promise<void> | undefined;

  constructor(
    private readonly db: SqlDatabase,
    options: StoredResponsesOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_RESPONSE_TTL_MS;
    this.now = options.now ?? Date.now;
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
    return new Promise((resolve, reject) => {
      this.waiting.push({ values: [id, keyId, now, now + this.ttlMs, conversation, JSON.stringify(stored.response)], resolve, reject });
      this.committing ??= this.commitWaiting();
    });
  }

  private async commitWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      const tuples = batch.map((_, i) => `(${[1, 2, 3, 4, 5, 6].map((n) => `$${i * 6 + n}`).join(", ")})`);
      try {
        await this.db.run(`INSERT INTO stored_responses (id, key_id, create_ms, expire_ms, conversation, response) VALUES ${tuples.join(", ")}`, batch.flatMap((write) => write.values));
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

/** The TTL from `SWITCHBOARD_RESPONSES_TTL_HOURS`, or the default; a value that is not a positive number is an error. */
export function responseTtlFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.SWITCHBOARD_RESPONSES_TTL_HOURS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_RESPONSE_TTL_MS;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours <= 0) throw new ConfigError("environment", "SWITCHBOARD_RESPONSES_TTL_HOURS", `must be a positive number of hours, not "${raw}"`);
  return hours * 3_600_000;
}
