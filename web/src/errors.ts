import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

/** An error as the console shows it: the gateway's words and its ErrorInfo reason. */
export interface ErrorInWords {
  reason: string;
  /** Empty when the field violations say it all. */
  message: string;
  /** Field violations of a BadRequest, "field: what is wrong". */
  fields: string[];
}

/** Words for a console user, before the gateway's own message (or, with `only`, instead of it). */
const HINTS: Partial<Record<string, { hint: string; only?: boolean }>> = {
  // The gateway's message is for API clients (which header to send): a console user pasted a key, nothing more.
  UNAUTHENTICATED: { hint: "The gateway does not know this key: check that it was pasted whole.", only: true },
  KEY_REVOKED: { hint: "This key was revoked." },
  KEY_EXPIRED: { hint: "This key has expired." },
  ADMIN_SCOPE_REQUIRED: { hint: "This key has no admin scope: sign in with the master key or an admin key." },
  ADMIN_READ_ONLY: { hint: "This is a read-only admin key: it can look, not change." },
};

/** The reasons that mean the signed-in key can no longer use the console at all. */
export const KEY_REFUSED = new Set(["UNAUTHENTICATED", "ADMIN_SCOPE_REQUIRED", "KEY_REVOKED", "KEY_EXPIRED"]);

export function inWords(err: unknown): ErrorInWords {
  const error = ConnectError.from(err);
  const reason = error.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[error.code] ?? "UNKNOWN";
  const fields = error.findDetails(BadRequestSchema).flatMap((bad) => bad.fieldViolations.map((v) => `${v.field}: ${v.description}`));
  // A BadRequest's message is its violations joined: shown once, as the list.
  const raw = fields.length > 0 && error.rawMessage === fields.join("; ") ? "" : error.rawMessage;
  const hint = HINTS[reason];
  if (!hint) return { reason, message: raw, fields };
  return { reason, message: hint.only || !raw ? hint.hint : `${hint.hint} ${raw}`, fields };
}
