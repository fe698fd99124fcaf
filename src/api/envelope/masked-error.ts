import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, BadRequest_FieldViolationSchema, ErrorInfoSchema, type BadRequest, type ErrorInfo } from "../../../gen/ts/google/rpc/error_details_pb.js";
import { maskKeys } from "../../providers/redact.js";

type Detail = ConnectError["details"][number];

/**
 * `error` as a caller and the call's log line get it: every key-shaped text
 * in its message, its ErrorInfo metadata and its BadRequest violations masked
 * ("sk-sb-…"). Errors quote what callers sent ("model "sk-sb-…" is not
 * available", a tool name declared twice), and a caller may have pasted a key
 * there. Both envelopes (Connect and REST) pass every error through here; the
 * same error when nothing was masked. Details received from a vendor (bytes,
 * relayed as they came) are left as they are: vendors' words are redacted
 * where they are read (src/providers/redact.ts).
 */
export function withKeysMasked(error: ConnectError): ConnectError {
  const message = maskKeys(error.rawMessage);
  const details = error.details.map(maskedDetail);
  if (message === error.rawMessage && details.every((detail, i) => detail === error.details[i])) return error;
  return new ConnectError(message, error.code, error.metadata, details as ConstructorParameters<typeof ConnectError>[3], error.cause);
}

function maskedDetail(detail: Detail): Detail {
  if (!("desc" in detail)) return detail;
  if (detail.desc.typeName === ErrorInfoSchema.typeName) {
    const info = detail.value as ErrorInfo;
    const metadata = Object.fromEntries(Object.entries(info.metadata).map(([name, value]) => [name, maskKeys(value)]));
    if (Object.entries(metadata).every(([name, value]) => value === info.metadata[name])) return detail;
    return { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: info.reason, domain: info.domain, metadata }) };
  }
  if (detail.desc.typeName === BadRequestSchema.typeName) {
    const request = detail.value as BadRequest;
    const violations = request.fieldViolations.map((v) => {
      const field = maskKeys(v.field);
      const description = maskKeys(v.description);
      return field === v.field && description === v.description ? v : create(BadRequest_FieldViolationSchema, { ...v, field, description });
    });
    if (violations.every((v, i) => v === request.fieldViolations[i])) return detail;
    return { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) };
  }
  return detail;
}
