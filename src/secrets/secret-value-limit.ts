/**
 * The most bytes a vendor key's value may hold, whatever its source. A key is
 * a few hundred bytes (AWS caps a whole secret at 64 KiB): a longer value is
 * a file or a bundle written where the key goes, and kept it would cost
 * memory in every pool and in the log redaction's index (each piece of each
 * key), and go in a header on every call. Refused when stored
 * (db-secret-store.ts) and when read from any source (secret-source.ts).
 */
export const MAX_VALUE_BYTES = 64 * 1024;
