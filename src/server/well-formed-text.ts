import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** ES2024's String.prototype.isWellFormed (Node 20 has it; the ES2023 lib this project compiles against does not name it). */
type WellFormed = string & { isWellFormed(): boolean };

/**
 * protobuf-es checks each string it sets from JSON (a 60 KB prompt among
 * them) with encodeURIComponent, which builds the whole percent-encoded text
 * only to see whether it throws. isWellFormed answers the same question
 * without building anything: encodeURIComponent throws on exactly the
 * strings that are not well formed (an unpaired surrogate). Process-wide, as
 * protobuf-es's text encoding is.
 */
export function checkStringsWithIsWellFormed(): void {
  const { encodeUtf8, decodeUtf8 } = getTextEncoding();
  configureTextEncoding({ encodeUtf8, decodeUtf8, checkUtf8: (text) => (text as WellFormed).isWellFormed() });
}
