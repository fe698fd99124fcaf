/** The largest value of the contract's int32 fields (max_tokens, dimensions, counts). */
export const INT32_MAX = 2_147_483_647;
