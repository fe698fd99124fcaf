// Who an answer says it is, in the OpenAI shape, both ways: the model as the
// vendor names it, its backend's fingerprint and the tier that served it, read
// from a vendor's answer or chunks and written back for callers of the REST
// surface, as OpenAI writes them.
import type { JsonObject } from "@bufbuild/protobuf";
import type { VendorIdentity } from "../provider.js";

/** The fields of an answer (or a chunk) that say who it is, as OpenAI names them. */
export interface IdentityFields {
  model?: unknown;
  system_fingerprint?: unknown;
  service_tier?: unknown;
}

/**
 * What an answer (or a chunk) says of itself: the model as the vendor names
 * it (a dated version of the one asked), its backend's fingerprint and the
 * tier that served it. They are metadata: each is left out when empty or not
 * a string, rather than failing an answer the key has paid for.
 */
export function vendorIdentityOf(answer: IdentityFields): VendorIdentity {
  const identity: VendorIdentity = {};
  if (typeof answer.model === "string" && answer.model) identity.vendorModel = answer.model;
  if (typeof answer.system_fingerprint === "string" && answer.system_fingerprint) identity.systemFingerprint = answer.system_fingerprint;
  if (typeof answer.service_tier === "string" && answer.service_tier) identity.serviceTier = answer.service_tier;
  return identity;
}

/** The answer's identity as OpenAI writes it (service_tier and system_fingerprint only when known), after its `model`. */
export function toOpenAIIdentity(out: JsonObject, identity: { serviceTier?: string; systemFingerprint?: string }): void {
  if (identity.serviceTier) out.service_tier = identity.serviceTier;
  if (identity.systemFingerprint) out.system_fingerprint = identity.systemFingerprint;
}
