// Anthropic's message threads (beta `message-threads-2026-08-12`), held by the
// gateway for every vendor: a `create` turn's conversation is kept under its
// answer's id, and a `continue` turn sends only the new messages. Kept in this
// process's memory, best-effort as Anthropic's own are: a thread lost (expired,
// evicted, another instance, a restart) is `thread_not_found`, on which the
// Anthropic SDKs replay the whole conversation under a new thread.
import type { JsonValue } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { excerpt } from "../common/excerpt.js";
import { gatewayError } from "../common/gateway-error.js";

/** Anthropic deletes a thread within an hour of its last use. */
export const THREAD_TTL_MS = 3_600_000;
/**
 * What one key's live threads may hold; past it its oldest go first. A long
 * agent conversation (200k tokens) is about 1 MB of JSON; a thread evicted
 * costs its caller one replay, never a failure.
 */
export const DEFAULT_THREAD_BYTES_PER_KEY = 8 * 1024 * 1024;
/** What all live threads may hold in this process (within the gateway's memory budget); past it the oldest go first. */
export const DEFAULT_THREAD_BYTES = 64 * 1024 * 1024;

/** What a thread costs beyond its text (its entry, its id, its record), counted with it: many small threads stay within the bounds too. */
export const THREAD_OVERHEAD_BYTES = 512;

/** The `error_code`s of Anthropic's thread rejections, in `error.details`; the ErrorInfo reason is the same, upper-cased. */
export type ThreadErrorCode = "thread_not_found" | "thread_already_continued" | "thread_continue_in_flight";

/** What a thread holds: the fields a `continue` leaves out, and the whole conversation so far (the last answer included). */
export interface ThreadHistory {
  system?: JsonValue;
  tools?: JsonValue;
  messages: JsonValue[];
}

/** A `continue` under way: it ends either way, once. */
export interface Continuation {
  history: ThreadHistory;
  /** The turn was answered (and its own thread kept): the one it continued cannot be continued again. */
  continued(): void;
  /** The turn failed: the thread it continued can be continued again. */
  released(): void;
}

interface Thread {
  keyId: string;
  expireMs: number;
  /**
   * The history as JSON text, parsed again for its `continue`: the text is what the bounds count, where the
   * parsed values would hold up to twenty times as much heap (a tool input of many `{}`). Gone once it was
   * continued: only that it was is kept, to say so.
   */
  text: string | undefined;
  bytes: number;
  inFlight: boolean;
}

export interface MessageThreadsOptions {
  ttlMs?: number;
  maxBytesPerKey?: number;
  maxBytes?: number;
  now?: () => number;
}

export class MessageThreads {
  /** Oldest first, which is also soonest to expire (a Map keeps insertion order; every thread lives ttlMs). */
  private readonly threads = new Map<string, Thread>();
  private readonly bytesByKey = new Map<string, number>();
  private bytes = 0;
  private readonly ttlMs: number;
  private readonly maxBytesPerKey: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(options: MessageThreadsOptions = {}) {
    this.ttlMs = options.ttlMs ?? THREAD_TTL_MS;
    this.maxBytesPerKey = options.maxBytesPerKey ?? DEFAULT_THREAD_BYTES_PER_KEY;
    this.maxBytes = options.maxBytes ?? DEFAULT_THREAD_BYTES;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts a `continue` from the answer `id`: its history, if `keyId` made it,
   * it has not expired, and it was neither continued nor is being continued.
   * Another key's thread is not found, exactly as one that never was.
   */
  continueFrom(id: string, keyId: string): Continuation {
    this.prune();
    const thread = this.threads.get(id);
    if (!thread || thread.keyId !== keyId) throw threadRefusal("thread_not_found", `no thread continues from message "${excerpt(id)}" (it expired, or was never kept): send the whole conversation with thread: {"type": "create"}`);
    if (thread.text === undefined) throw threadRefusal("thread_already_continued", `message "${excerpt(id)}" was already continued, and each can be continued once: continue from the thread's latest message`);
    if (thread.inFlight) throw threadRefusal("thread_continue_in_flight", `another request is continuing from message "${excerpt(id)}"`);
    thread.inFlight = true;
    let ended = false;
    return {
      history: JSON.parse(thread.text) as ThreadHistory,
      continued: () => {
        if (ended) return;
        ended = true;
        thread.inFlight = false;
        // Kept, empty, until it would have expired: a second continue is told it was continued, not that it is gone.
        this.forget(thread);
        thread.text = undefined;
      },
      released: () => {
        if (ended) return;
        ended = true;
        thread.inFlight = false;
      },
    };
  }

  /** Keeps the conversation a turn ended with under its answer's id, for `keyId` alone; one larger than a key may keep is not kept. */
  keep(id: string, keyId: string, history: ThreadHistory): void {
    const text = JSON.stringify(history);
    const bytes = Buffer.byteLength(text) + THREAD_OVERHEAD_BYTES;
    if (bytes > this.maxBytesPerKey || bytes > this.maxBytes) return;
    this.prune();
    const thread: Thread = { keyId, expireMs: this.now() + this.ttlMs, text, bytes, inFlight: false };
    this.threads.set(id, thread);
    this.add(keyId, bytes);
    // The oldest go first: a thread lost is replayed by the SDK, which costs a full request, not an answer.
    for (const [oldId, old] of this.threads) {
      if (this.bytes <= this.maxBytes && (this.bytesByKey.get(keyId) ?? 0) <= this.maxBytesPerKey) break;
      if (old === thread || old.inFlight) continue;
      if (this.bytes > this.maxBytes || old.keyId === keyId) this.drop(oldId, old);
    }
  }

  /** How many threads (continued ones included) are kept, for tests. */
  get size(): number {
    return this.threads.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, thread] of this.threads) {
      if (thread.expireMs > now) return;
      if (!thread.inFlight) this.drop(id, thread);
    }
  }

  private drop(id: string, thread: Thread): void {
    this.threads.delete(id);
    this.forget(thread);
  }

  /** Gives back the bytes a thread's history held. */
  private forget(thread: Thread): void {
    this.add(thread.keyId, -thread.bytes);
    thread.bytes = 0;
  }

  private add(keyId: string, bytes: number): void {
    this.bytes += bytes;
    const total = (this.bytesByKey.get(keyId) ?? 0) + bytes;
    if (total > 0) this.bytesByKey.set(keyId, total);
    else this.bytesByKey.delete(keyId);
  }
}

/** A thread rejection; the Anthropic surface answers it with `error.details.error_code`, which the SDKs' thread helpers replay on. */
export function threadRefusal(errorCode: ThreadErrorCode, message: string): ConnectError {
  const code = errorCode === "thread_not_found" ? Code.NotFound : Code.FailedPrecondition;
  return gatewayError(code, message, errorCode.toUpperCase(), { error_code: errorCode });
}
