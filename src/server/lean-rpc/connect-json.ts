import { fromJson, type DescMessage, type JsonReadOptions, type MessageShape } from "@bufbuild/protobuf";
import { getJsonOptions } from "@connectrpc/connect/protocol";

/** What connect-es decodes a JSON body with (its JSON serialization: a lenient decoder, BOM dropped). */
const decoder = new TextDecoder();

/**
 * A Connect JSON request body decoded to the very message connect-es would
 * decode (its JSON serialization: protobuf-es's fromJsonString, unknown
 * fields ignored), or undefined when connect-es would refuse it (not JSON, a
 * duplicate key, a field that does not fit), so that connect-es answers it.
 * Cheaper than protobuf-es's own path for large bodies: its scan for
 * duplicate keys indexes the text one character at a time; the one here
 * jumps from quote to quote.
 */
export function fromConnectJson<Desc extends DescMessage>(desc: Desc, bytes: Uint8Array, options: Partial<JsonReadOptions> | undefined): MessageShape<Desc> | undefined {
  const text = decoder.decode(bytes);
  try {
    const json: unknown = JSON.parse(text);
    if (hasDuplicateKeys(text)) return undefined;
    return fromJson(desc, json as Parameters<typeof fromJson>[1], getJsonOptions(options));
  } catch {
    return undefined;
  }
}

const QUOTE = 0x22; // "

/**
 * Whether JSON text (that JSON.parse accepted) repeats a member name in an
 * object, at any depth, escapes decoded: exactly the duplicates protobuf-es's
 * checkDuplicateKeys refuses, found by the same walk, but skipping through
 * strings with indexOf instead of a character at a time.
 */
export function hasDuplicateKeys(json: string): boolean {
  // One set of seen member names per open object; null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  let nextBackslash = json.indexOf("\\");
  for (let i = 0; i < json.length; ) {
    switch (json.charCodeAt(i)) {
      case 0x7b /* { */:
        open.push(new Set());
        expectKey = true;
        i++;
        break;
      case 0x5b /* [ */:
        open.push(null);
        expectKey = false;
        i++;
        break;
      case 0x7d /* } */:
      case 0x5d /* ] */:
        open.pop();
        expectKey = false;
        i++;
        break;
      case 0x2c /* , */:
        expectKey = open[open.length - 1] != null;
        i++;
        break;
      case 0x3a /* : */:
        expectKey = false;
        i++;
        break;
      case QUOTE: {
        const start = i++;
        let escaped = false;
        // To the closing quote: a backslash skips the character it escapes (a quote among them).
        for (;;) {
          if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = json.indexOf("\\", i);
          let quote = json.indexOf('"', i);
          if (quote === -1) quote = json.length;
          if (nextBackslash !== -1 && nextBackslash < quote) {
            escaped = true;
            i = nextBackslash + 2;
            continue;
          }
          i = quote;
          break;
        }
        const end = i++;
        const seen = open[open.length - 1];
        if (expectKey && seen) {
          const name = escaped ? (JSON.parse(json.substring(start, end + 1)) as string) : json.substring(start + 1, end);
          if (seen.has(name)) return true;
          seen.add(name);
        }
        expectKey = false;
        break;
      }
      default:
        i++;
    }
  }
  return false;
}
