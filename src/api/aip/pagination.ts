import type { FieldViolations } from "./field-violations.js";

/**
 * AIP-158 page tokens: where the next page of a list starts. Opaque to the
 * caller (base64url), tagged with the list that issued them and checked on
 * the way back in, so a token from another list, a cut or a hand-made one is
 * InvalidArgument naming `page_token`, never a wrong page or an Internal
 * error. Not signed: a position names nothing the caller could not list.
 */
export interface PageTokenCodec<Position> {
  encode(position: Position): string;
  /** The position a token continues from; undefined for "" (the first page) and for a token this list did not issue (adding a violation). */
  decode(token: string, violations: FieldViolations): Position | undefined;
}

/** Longer than any token we issue: no need to parse what a caller made up. */
const MAX_TOKEN_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** `list` names the method ("ListKeys"); `isPosition` checks what a decoded token holds. */
export function createPageTokenCodec<Position>(list: string, isPosition: (value: unknown) => value is Position): PageTokenCodec<Position> {
  return {
    encode(position) {
      return Buffer.from(JSON.stringify([list, position]), "utf8").toString("base64url");
    },
    decode(token, violations) {
      if (!token) return undefined;
      const position = token.length <= MAX_TOKEN_LENGTH && BASE64URL.test(token) ? readPosition(token) : undefined;
      if (position === undefined) violations.add("page_token", `is not a token from a previous ${list} response`);
      return position;
    },
  };

  function readPosition(token: string): Position | undefined {
    try {
      const payload: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      if (Array.isArray(payload) && payload.length === 2 && payload[0] === list && isPosition(payload[1])) return payload[1];
    } catch {
      // not JSON: the caller's violation
    }
    return undefined;
  }
}

/** How many items a page holds: 0 means `sizes.default`, more than `sizes.max` means the max, a negative page_size is a violation. */
export function readPageSize(pageSize: number, sizes: { default: number; max: number }, violations: FieldViolations): number {
  if (pageSize < 0) violations.add("page_size", "must not be negative");
  return Math.min(pageSize || sizes.default, sizes.max);
}
