// What every REST surface says about how a chat call was answered, whatever
// dialect the body is in: who served, the cache's part, whether the key's
// economy model served, what was adjusted.
import type { ServerResponse } from "node:http";
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import type { ParameterAdjustment } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { ADJUSTED_HEADER, adjustmentsHeader } from "../catalogue/adjustments.js";
import { jsonBytes } from "../common/json-bytes.js";
import type { GatewayStream } from "../gateway/gateway.js";
import type { CacheStatus } from "../gateway/response-cache.js";
import { header, type RestRequest, type RestResponse } from "./envelope/rest-envelope.js";
import { untilDrained } from "../server/response-drain.js";
import type { TurnWrites } from "../server/turn-writes.js";

/** Whether the answer came from the response cache: hit, miss or coalesced. */
const CACHE_HEADER = "x-switchboard-cache";
/** Present (`true`) when the key's economy model served in place of the model asked for: the typed answer's `downgraded`. */
const DOWNGRADED_HEADER = "x-switchboard-downgraded";

/** The headers of a whole answer: the provider that served, the cache's part, a downgrade, and what was changed to fit the model (never silently). */
export function answerHeaders(answer: ChatResponse): Record<string, string> {
  const cache: CacheStatus = answer.coalesced ? "coalesced" : answer.cached ? "hit" : "miss";
  return { "x-switchboard-provider": answer.provider, [CACHE_HEADER]: cache, ...downgradedHeader(answer.downgraded), ...adjustedHeader(answer.adjustments) };
}

/** The headers of a stream, written with its first event: server-sent events, and what answerHeaders says, as known by then. */
export function streamHeaders(streamed: GatewayStream): Record<string, string> {
  return {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-switchboard-provider": streamed.servingProvider() ?? "",
    [CACHE_HEADER]: streamed.cache,
    ...downgradedHeader(streamed.downgraded),
    ...adjustedHeader(streamed.adjustments()),
  };
}

function downgradedHeader(downgraded: boolean): Record<string, string> {
  return downgraded ? { [DOWNGRADED_HEADER]: "true" } : {};
}

function adjustedHeader(adjustments: readonly ParameterAdjustment[]): Record<string, string> {
  return adjustments.length > 0 ? { [ADJUSTED_HEADER]: adjustmentsHeader(adjustments) } : {};
}

/** The request's `Cache-Control` directives as the contract's field: `no-store` leaves the cache out, `no-cache` refreshes it. */
export function cacheControlOf(req: RestRequest): CacheControl {
  const directives = (header(req, "cache-control") ?? "").toLowerCase().split(",").map((directive) => directive.trim());
  if (directives.includes("no-store")) return CacheControl.NO_STORE;
  if (directives.includes("no-cache")) return CacheControl.NO_CACHE;
  return CacheControl.UNSPECIFIED;
}

export function sendJson(res: RestResponse, body: JsonObject, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...headers, "content-type": "application/json" }).end(jsonBytes(body));
}

/** Where a stream's events go: its response, or the writes a stream's loop gathers per turn (TurnWrites). */
export type EventSink = RestResponse | TurnWrites;

/**
 * One server-sent event; `event` names it where the dialect does (Anthropic,
 * the Responses API). Returns what write() says: false when the client is not
 * taking the stream as fast as it is written, and the stream must wait for it
 * (`drained`) before it takes the next event from the vendor.
 */
export function writeEvent(out: EventSink, data: JsonObject, event?: string): boolean {
  return writeEventJson(out, JSON.stringify(data), event);
}

/** writeEvent, for data already in its JSON text. */
export function writeEventJson(out: EventSink, json: string, event?: string): boolean {
  return (out as ServerResponse).write(`${event ? `event: ${event}\n` : ""}data: ${json}\n\n`);
}

/**
 * Waits until a stream's client takes writes again ('drain'), for a stream
 * whose writeEvent said false. The stream's loop does not pull the next event
 * meanwhile, so nothing reads from the vendor: its answer waits in the socket
 * buffers, and its writes block in turn. The gateway reads from the vendor
 * only as fast as the client reads, and holds a bounded amount per stream.
 *
 * A client that went away ends the wait at once; a call whose signal fires
 * first (the caller's deadline, the gateway's shutdown) is cut off: the
 * response is destroyed (nobody is reading it, so an error event would never
 * arrive) and the signal's reason is thrown, which ends the upstream request.
 */
export async function drained(res: RestResponse, signal: AbortSignal): Promise<void> {
  await untilDrained(res, signal);
  if (signal.aborted) {
    res.destroy();
    throw signal.reason;
  }
}
