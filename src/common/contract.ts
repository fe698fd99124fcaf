/** The largest value of the contract's int32 fields (max_tokens, dimensions, counts). */
export const INT32_MAX = 2_147_483_647;

/** The longest deadline a call keeps, on every surface: a longer one (gRPC allows 99999999H) is cut to this. */
export const MAX_DEADLINE_MS = 24 * 60 * 60 * 1000;
