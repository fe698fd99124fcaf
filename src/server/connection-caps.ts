import type * as net from "node:net";
import type { Logger } from "../observability/logger.js";
import type { ClientLimits } from "./client-limits.js";
import { clientKey } from "./client-key.js";
import { ThrottledWarning } from "../observability/throttled-warning.js";
import { openFileLimit } from "./open-file-limit.js";
import { Tally } from "./tally.js";

export type CapLimit = "total" | "per_client";

/** What a plaintext client over a cap reads; a TLS client is closed at once (it has not finished its handshake). */
const REFUSAL =
  "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: text/plain\r\ncontent-length: 21\r\n\r\ntoo many connections\n";

/** A refused connection stays open this long at most, for the client to read the refusal... */
const REFUSAL_LINGER_MS = 1_000;
/** ...and at most this many at once: a flood of refusals must not hold file descriptors itself. */
const MAX_LINGERING = 64;

export interface ConnectionCapsOptions {
  logger: Logger;
  /** Whether a refused client can be told in plain HTTP/1.1. */
  plaintext: boolean;
  refused?: (limit: CapLimit) => void;
}

/**
 * Caps the connections held at once, in all and per client address, so that
 * slow or idle clients cannot take every file descriptor and lock out the
 * others. Refusals are counted, and logged at most once per interval.
 */
export class ConnectionCaps {
  private open = 0;
  private readonly perClient = new Tally<string>();
  private lingering = 0;
  private readonly refusals: ThrottledWarning;

  constructor(
    private readonly limits: Pick<ClientLimits, "maxConnections" | "maxConnectionsPerClient">,
    private readonly options: ConnectionCapsOptions,
  ) {
    this.refusals = new ThrottledWarning(options.logger, "refusing connections over the connection caps");
    const files = openFileLimit();
    // Every connection holds a file descriptor, and so do vendor connections, the ledger and the logs.
    if (files !== undefined && limits.maxConnections > files * 0.8) {
      options.logger.warn({ maxConnections: limits.maxConnections, openFileLimit: files }, "server.max_connections leaves too few of the process's file descriptors for the rest: lower it, or raise the limit");
    }
  }

  /** Counts a new connection in, or refuses it; false when refused. */
  admit(socket: net.Socket): boolean {
    const client = clientKey(socket.remoteAddress);
    const held = this.perClient.of(client);
    const over: CapLimit | undefined = this.open >= this.limits.maxConnections ? "total" : held >= this.limits.maxConnectionsPerClient ? "per_client" : undefined;
    if (over) {
      this.refuse(socket, over);
      return false;
    }
    this.open++;
    this.perClient.add(client);
    socket.once("close", () => {
      this.open--;
      this.perClient.remove(client);
    });
    return true;
  }

  private refuse(socket: net.Socket, limit: CapLimit): void {
    this.options.refused?.(limit);
    this.refusals.note(() => ({ limit, open: this.open, maxConnections: this.limits.maxConnections, maxConnectionsPerClient: this.limits.maxConnectionsPerClient }));
    if (!this.options.plaintext || this.lingering >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    this.lingering++;
    const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    socket.once("close", () => {
      clearTimeout(linger);
      this.lingering--;
    });
    socket.on("error", () => socket.destroy());
    // Read and drop what the client sends: closing with unread bytes would reset the connection, and the reset may reach the client before the refusal does.
    socket.resume();
    socket.end(REFUSAL);
  }
}
