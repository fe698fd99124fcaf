import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

/** An error as the console shows it: the gateway's words and its ErrorInfo reason. */
export interface ErrorInWords {
  reason: string;
  message: string;
  /** Field violations of a BadRequest, "field: what is wrong". */
  fields: string[];
}

const HINTS: Partial<Record<string, string>> = {
  UNAUTHENTICATED: "The gateway does not know this key.",
  KEY_REVOKED: "This key was revoked.",
  KEY_EXPIRED: "This key has expired.",
  ADMIN_SCOPE_REQUIRED: "This key has no admin scope: sign in with the master key or an admin key.",
  ADMIN_READ_ONLY: "This is a read-only admin key: it can look, not change.",
};

export function inWords(err: unknown): ErrorInWords {
  const error = ConnectError.from(err);
  const reason = error.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[error.code] ?? "UNKNOWN";
  const fields = error.findDetails(BadRequestSchema).flatMap((bad) => bad.fieldViolations.map((v) => `${v.field}: ${v.description}`));
  const hint = HINTS[reason];
  return { reason, message: hint ? `${hint} ${error.rawMessage}` : error.rawMessage, fields };
}
