import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code } from "@connectrpc/connect";
import { gatewayError, REQUEST_TOO_LARGE } from "../../common/gateway-error.js";
import { readBody } from "../../common/request-body.js";
import { MAX_JSON_DEPTH, nestsDeeperThan, TOO_DEEP } from "../json-depth.js";

/** Bodies above this are refused before they are parsed. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A request's JSON body: of a JSON content type, at most MAX_BODY_BYTES, parseable, and not nested past MAX_JSON_DEPTH. */
export async function readJsonBody(req: IncomingMessage | Http2ServerRequest, contentType: string): Promise<unknown> {
  if (!contentType.includes("json")) throw gatewayError(Code.InvalidArgument, "the body must be JSON (content-type: application/json)", "INVALID_ARGUMENT");
  const read = await readBody(req, MAX_BODY_BYTES);
  if (read === undefined) throw gatewayError(Code.Canceled, "the client went away", "CANCELLED");
  if ("over" in read) {
    // The rest is read and dropped, not left unread: its connection would hang (see server/unread-body.ts).
    req.resume();
    throw gatewayError(Code.ResourceExhausted, `the body is larger than ${MAX_BODY_BYTES} bytes`, REQUEST_TOO_LARGE);
  }
  let body: unknown;
  try {
    body = JSON.parse(read.bytes.toString("utf8"));
  } catch {
    throw gatewayError(Code.InvalidArgument, "the body is not valid JSON", "INVALID_ARGUMENT");
  }
  // JSON.parse copes with any nesting; what reads the body next (and JSON.stringify to vendors) may not.
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw gatewayError(Code.InvalidArgument, `the body ${TOO_DEEP}`, "INVALID_ARGUMENT");
  return body;
}
