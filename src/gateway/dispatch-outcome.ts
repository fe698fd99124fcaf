import type { ConnectError } from "@connectrpc/connect";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { ChatStreamEvent } from "../providers/provider.js";
import type { Candidate } from "./router.js";

/** How a dispatch went, whichever way it ended: every attempt in the order they started, and who served. */
export interface DispatchOutcome {
  attempts: Attempt[];
  /** The candidate that answered; undefined when none did. */
  served?: Candidate;
  /** The candidate of the last attempt sent, or skipped when none was (the ledger names it for a failed call). */
  lastTried?: Candidate;
}

export interface Dispatched<T> {
  value: T;
  outcome: DispatchOutcome;
}

/** A streamed dispatch: its events, and its outcome once they are over (or failed). */
export interface DispatchedStream {
  events: AsyncGenerator<ChatStreamEvent>;
  /** The candidate whose events are being passed on, once the first has been. */
  serving(): Candidate | undefined;
  outcome(): DispatchOutcome;
}

/** A dispatch that could not be served: what the caller gets, and the outcome that led there. */
export class DispatchFailure extends Error {
  constructor(
    readonly error: ConnectError,
    readonly outcome: DispatchOutcome,
  ) {
    super(error.message);
    this.name = "DispatchFailure";
  }
}
