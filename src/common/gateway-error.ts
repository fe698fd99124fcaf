import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

/** The `domain` of every ErrorInfo the gateway raises. */
export const ERROR_DOMAIN = "switchboard.dev";

/**
 * The reason of an oversized body: ResourceExhausted in Connect terms, but on
 * REST surfaces a 413 and a request error, since the SDKs retry a 429.
 */
export const REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE";

/**
 * The reason of a request whose header block is past the server's limit:
 * ResourceExhausted in gRPC and Connect terms, HTTP's own 431 on every HTTP
 * answer (a REST SDK retries neither, as it would a 429).
 */
export const REQUEST_HEADERS_TOO_LARGE = "REQUEST_HEADERS_TOO_LARGE";

/** The reason of a REST path asked with a method it does not take: Unimplemented in Connect terms, a 405 (with `Allow`) on REST surfaces. */
export const METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED";

/** The HTTP status REST surfaces answer for a reason whose meaning HTTP has its own status for; undefined for the rest (status by code). */
export function restStatusOfReason(reason: string | undefined): number | undefined {
  return reason === REQUEST_TOO_LARGE ? 413 : reason === REQUEST_HEADERS_TOO_LARGE ? 431 : reason === METHOD_NOT_ALLOWED ? 405 : undefined;
}

/** A ConnectError with ErrorInfo, and RetryInfo plus a `retry-after` header when `retryAfterMs` is known. */
export function gatewayError(
  code: Code,
  message: string,
  reason: string,
  metadata: Record<string, string> = {},
  retryAfterMs?: number,
): ConnectError {
  const details: NonNullable<ConstructorParameters<typeof ConnectError>[3]> = [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) },
  ];
  const headers = new Headers();
  if (retryAfterMs !== undefined) {
    // Whole milliseconds: a fractional delay made a Duration whose nanos are no int32, and the answer failed to encode after the call had ended.
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(Math.ceil(retryAfterMs)) }) });
    headers.set("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
  return new ConnectError(message, code, headers, details);
}

/** The ErrorInfo reason an error carries, if any. */
export function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

/**
 * Makes sure an error carries ErrorInfo: one raised without a reason of its
 * own (request validation, admin refusals) gets its code's name
 * ("INVALID_ARGUMENT", "NOT_FOUND"), so callers can always switch on a reason.
 */
export function withErrorInfo(err: ConnectError): ConnectError {
  if (reasonOf(err) !== undefined) return err;
  err.details.push({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: reasonForCode(err.code), domain: ERROR_DOMAIN }) });
  return err;
}

/** "INVALID_ARGUMENT" for Code.InvalidArgument; "CANCELLED" as the upstream reason spells it. */
function reasonForCode(code: Code): string {
  return code === Code.Canceled ? "CANCELLED" : codeToString(code).toUpperCase();
}
