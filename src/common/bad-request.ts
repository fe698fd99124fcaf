import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, BadRequest_FieldViolationSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { gatewayError } from "./gateway-error.js";

/** One field a request got wrong, and what is wrong with it. */
export interface FieldViolation {
  /** The field's path as the caller wrote it ("messages[0].role", "encoding_format"). */
  field: string;
  description: string;
}

/**
 * InvalidArgument naming every field at fault: the message lists them, a
 * `google.rpc.BadRequest` detail carries them one by one, and ErrorInfo says
 * INVALID_ARGUMENT (the OpenAI REST surface also names the first as `param`),
 * or the more specific reason given to badRequestOf.
 */
export function badRequest(...violations: FieldViolation[]): ConnectError {
  return badRequestOf(violations);
}

/** `badRequest` from a list (spread as arguments, a long list would overflow the call stack), with ErrorInfo's `reason` and `metadata`. */
export function badRequestOf(violations: readonly FieldViolation[], reason = "INVALID_ARGUMENT", metadata: Record<string, string> = {}): ConnectError {
  const err = gatewayError(Code.InvalidArgument, violations.map((v) => `${v.field}: ${v.description}`).join("; "), reason, metadata);
  err.details.push({
    desc: BadRequestSchema,
    value: create(BadRequestSchema, { fieldViolations: violations.map((v) => create(BadRequest_FieldViolationSchema, v)) }),
  });
  return err;
}
