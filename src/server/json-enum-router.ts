// connect-es's path to unknown enum names (json-enum-names.ts): its JSON
// options are per service and its text decoder is not told the message it
// decodes, so each method is registered with a decoder of its own input.
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { createServiceImplSpec, type ConnectRouter, type MethodImpl, type ServiceImpl } from "@connectrpc/connect";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { holdsEnums } from "./json-enum-names.js";
import type { JsonTextDecoder } from "./json-text-decoder.js";
import { decodeConnectJsonText, type ConnectJsonOptions } from "./lean-rpc/connect-json.js";

/**
 * `decoder`, also refusing unknown enum names in a body of `desc`. connect-es
 * decodes a JSON body with the text decoder, then parses the text itself: a
 * body of a message with enums is decoded here first, whole, and refused here
 * with the very error connect-es would raise (so that a body that fails is
 * parsed once, as on the lean path); one that decodes is parsed again by
 * connect-es (this path serves what the lean path declines: compressed bodies,
 * gRPC and gRPC-Web JSON, the other methods).
 */
export function enumNamesCheckedDecoder(desc: DescMessage, decoder: JsonTextDecoder, jsonOptions: ConnectJsonOptions): JsonTextDecoder {
  if (!holdsEnums(desc)) return decoder;
  return {
    decode(bytes) {
      const text = decoder.decode(bytes);
      const decoded = decodeConnectJsonText(desc, text, jsonOptions);
      if ("error" in decoded) throw decoded.error;
      return text;
    },
  };
}

/**
 * `router`, registering each method with its own JSON text decoder, which
 * refuses unknown enum names in its input (connect-es's JSON options are per
 * service, and its decoder is not told the message it decodes).
 */
export function withJsonEnumNamesChecked(router: ConnectRouter, jsonOptions: ConnectJsonOptions): ConnectRouter {
  const checked: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service<T extends DescService>(service: T, implementation: Partial<ServiceImpl<T>>, options?: Partial<UniversalHandlerOptions>) {
      // As connect-es's own service(): a method left out answers Unimplemented.
      for (const spec of Object.values(createServiceImplSpec(service, implementation).methods)) checked.rpc(spec.method, spec.impl as MethodImpl<DescMethod>, options);
      return checked;
    },
    rpc<M extends DescMethod>(method: M, impl: MethodImpl<M>, options?: Partial<UniversalHandlerOptions>) {
      const json: ConnectJsonOptions = { ...jsonOptions, ...options?.jsonOptions };
      const textDecoder = enumNamesCheckedDecoder(method.input, json.textDecoder ?? new TextDecoder(), json);
      // A variable, not a literal: connect-es's option types leave `textDecoder` out, though its JSON serialization reads it.
      const checkedJson = { ...json, textDecoder };
      router.rpc(method, impl, { ...options, jsonOptions: checkedJson });
      return checked;
    },
  } as ConnectRouter;
  return checked;
}
