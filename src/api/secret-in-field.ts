import type { ConnectError } from "@connectrpc/connect";
import { badRequestOf } from "../common/bad-request.js";
import { MAX_FIELD_VIOLATIONS } from "./aip/field-violations.js";

/** The ErrorInfo reason of a request refused because a name, label, reference or reason in it holds a secret. */
export const SECRET_IN_FIELD = "SECRET_IN_FIELD";

/**
 * InvalidArgument for the `fields` that hold a secret: ErrorInfo
 * SECRET_IN_FIELD with metadata `field` (the first), a BadRequest violation
 * per field (as FieldViolations lists them: 400 globs each holding a key make
 * no megabyte answer). It names the fields, never what they hold.
 */
export function secretInField(fields: readonly string[], description: string): ConnectError {
  return badRequestOf(
    fields.slice(0, MAX_FIELD_VIOLATIONS).map((field) => ({ field, description })),
    SECRET_IN_FIELD,
    { field: fields[0]! },
  );
}
