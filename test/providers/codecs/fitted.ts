// A recorded unified request encoded as the gateway encodes it: fitted to the
// model by the shipped model catalogue (ranges, refused parameters, limits),
// then built by the dialect's codec. The fixtures' bodies are what the vendor receives.
import type { ChatParams } from "../../../src/providers/provider.js";
import type { Codec, VendorRequest } from "../../../src/providers/codec.js";
import { Catalogue } from "../../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../../src/catalogue/request-fitting.js";

const catalogue = Catalogue.shipped();

export function encodeFitted(codec: Codec, provider: string, params: ChatParams, model: string, stream: boolean): VendorRequest {
  const fitted = fitChatRequest(params, catalogue.lookup(provider, model, codec.dialect), "degrade");
  if (!fitted.ok) throw new Error(fitted.reason);
  return codec.chatRequest(fitted.params, model, stream, fitted.traits);
}
