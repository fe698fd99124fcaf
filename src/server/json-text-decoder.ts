import { Code, type ConnectError } from "@connectrpc/connect";
import { MAX_JSON_DEPTH } from "../api/json-depth.js";
import { gatewayError } from "../common/gateway-error.js";
import { jsonOutgrows } from "../common/json-nesting.js";
import { MAX_REQUEST_OBJECTS, MAX_REQUEST_VALUES } from "../common/request-objects.js";
import { tooManyObjects } from "./request-objects-bound.js";

/** What turns a JSON request body into text for JSON.parse. */
export interface JsonTextDecoder {
  decode(bytes: Uint8Array): string;
}

/**
 * The text decoder for every RPC's JSON body (connect-es's JSON
 * serializations take it as `jsonOptions.textDecoder`, and the lean path
 * decodes with the same one): a body nesting objects and arrays past
 * `depthLimit`, or holding more objects or values than a request may
 * (../common/request-objects.ts), is refused before JSON.parse builds it
 * (8 MiB of `[[[[` or `{},{},` cost seconds of CPU there); the rest is
 * decoded as connect-es decodes it (UTF-8, lenient, a BOM dropped). The
 * refusal is InvalidArgument with ErrorInfo, on every protocol that carries
 * JSON (Connect, gRPC-Web, gRPC).
 */
export function boundedJsonTextDecoder(depthLimit: number): JsonTextDecoder {
  const decoder = new TextDecoder();
  const limits = { depth: depthLimit, objects: MAX_REQUEST_OBJECTS, values: MAX_REQUEST_VALUES };
  return {
    decode(bytes) {
      const excess = jsonOutgrows(bytes, limits);
      if (excess === "depth") throw tooDeep(depthLimit);
      if (excess) throw tooManyObjects(excess);
      return decoder.decode(bytes);
    },
  };
}

function tooDeep(limit: number): ConnectError {
  return gatewayError(
    Code.InvalidArgument,
    `the request nests JSON objects and arrays deeper than ${limit} levels (a JSON value in it, such as a tool's parameters, may nest ${MAX_JSON_DEPTH})`,
    "INVALID_ARGUMENT",
  );
}
