import { toJson, type DescMessage, type JsonReadOptions, type JsonWriteStringOptions, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { getJsonOptions, limitSerialization, type MethodSerializationLookup, type Serialization } from "@connectrpc/connect/protocol";
import { jsonBytes } from "../../common/json-bytes.js";

type JsonOptions = Partial<JsonReadOptions & JsonWriteStringOptions> & { textEncoder?: unknown };

/**
 * A method's serializations with its JSON answers written by jsonBytes:
 * connect-es's JSON serialization writes protobuf-es's toJson with
 * JSON.stringify and encodes the text as UTF-8, and so does this, to the
 * byte and to the error (ConnectError Internal, then the write limit), but
 * without JSON.stringify's loop over a long answer's text. Options that
 * change the text (a text encoder of their own, pretty printing) keep
 * connect-es's.
 */
export function withJsonAnswers<I extends DescMessage, O extends DescMessage>(
  lookup: MethodSerializationLookup<I, O>,
  output: O,
  jsonOptions: JsonOptions | undefined,
  limits: { readMaxBytes: number; writeMaxBytes: number },
): MethodSerializationLookup<I, O> {
  if (jsonOptions?.textEncoder !== undefined || jsonOptions?.prettySpaces) return lookup;
  const options = getJsonOptions(jsonOptions);
  const connectEs = lookup.getO(false);
  const json: Serialization<MessageShape<O>> = limitSerialization(
    {
      parse: connectEs.parse,
      serialize(message) {
        try {
          return jsonBytes(toJson(output, message, options));
        } catch (e) {
          throw ConnectError.from(e, Code.Internal);
        }
      },
    },
    limits,
  );
  return { getI: lookup.getI, getO: (useBinaryFormat) => (useBinaryFormat ? lookup.getO(true) : json) };
}
