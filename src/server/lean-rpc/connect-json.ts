import { fromJson, type DescMessage, type JsonReadOptions, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { getJsonOptions } from "@connectrpc/connect/protocol";
import { refuseUnknownEnumNames } from "../json-enum-names.js";

/** connect-es's JSON options, with the text decoder its JSON serialization reads from them. */
export type ConnectJsonOptions = Partial<JsonReadOptions> & { textDecoder?: { decode(bytes: Uint8Array): string } };

/** A request message decoded, or the error connect-es's serialization raises for the same bytes. */
export type Decoded<Desc extends DescMessage = DescMessage> = { message: MessageShape<Desc> } | { error: ConnectError };

/** What connect-es decodes a JSON body with when the options name no decoder (lenient, BOM dropped). */
const decoder = new TextDecoder();

/**
 * A Connect JSON request body decoded as connect-es's JSON serialization
 * decodes it (the options' text decoder, then protobuf-es's fromJsonString:
 * JSON.parse, the duplicate-key check, fromJson with unknown fields
 * ignored), once: the message, or the very error connect-es would raise
 * (InvalidArgument, the same message; an unknown enum name refused as the
 * connect-es path refuses it, with BadRequest), so that the lean path answers it
 * without connect-es parsing the body again. Cheaper than protobuf-es's own
 * path for large bodies: its scan for duplicate keys indexes the text one
 * character at a time; the one here jumps from quote to quote.
 */
export function decodeConnectJson<Desc extends DescMessage>(desc: Desc, bytes: Uint8Array, options: ConnectJsonOptions | undefined): Decoded<Desc> {
  let text: string;
  try {
    text = (options?.textDecoder ?? decoder).decode(bytes);
  } catch (e) {
    // As connect-es's JSON serialization raises it (a ConnectError from the text decoder as it is).
    return { error: ConnectError.from(e, Code.InvalidArgument) };
  }
  return decodeConnectJsonText(desc, text, options);
}

/** `decodeConnectJson` from the text its decoder made of the body. */
export function decodeConnectJsonText<Desc extends DescMessage>(desc: Desc, text: string, options: ConnectJsonOptions | undefined): Decoded<Desc> {
  try {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      // As protobuf-es's parseJsonString words it.
      throw new Error(`cannot decode message ${desc.typeName} from JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const duplicate = duplicateKeyIn(text);
    if (duplicate !== undefined) throw new Error(`cannot decode message ${desc.typeName} from JSON: duplicate object key "${duplicate}"`);
    // fromJson, ignoring unknown fields, would drop unknown enum names as unset (../json-enum-names.ts).
    refuseUnknownEnumNames(desc, json);
    return { message: fromJson(desc, json as Parameters<typeof fromJson>[1], getJsonOptions(options)) };
  } catch (e) {
    // As connect-es's JSON serialization raises it.
    return { error: ConnectError.from(e, Code.InvalidArgument) };
  }
}

const QUOTE = 0x22; // "

/**
 * Whether JSON text (that JSON.parse accepted) repeats a member name in an
 * object, at any depth, escapes decoded: exactly the duplicates protobuf-es's
 * checkDuplicateKeys refuses.
 */
export function hasDuplicateKeys(json: string): boolean {
  return duplicateKeyIn(json) !== undefined;
}

/**
 * The first member name JSON text (that JSON.parse accepted) repeats in an
 * object, escapes decoded; undefined when none is: the duplicate
 * protobuf-es's checkDuplicateKeys names, found by the same walk, but
 * skipping through strings with indexOf instead of a character at a time.
 */
export function duplicateKeyIn(json: string): string | undefined {
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
          if (seen.has(name)) return name;
          seen.add(name);
        }
        expectKey = false;
        break;
      }
      default:
        i++;
    }
  }
  return undefined;
}
